// `onnx-chat inspect PATH`: what a model folder holds and what the server would make of it.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/strings.h"
#include "inspect_checks.h"
#include "models/io_layout.h"
#include "models/repo.h"
#include "ort/matmul_precision.h"
#include "ort/onnx_file.h"

namespace oc::app {
namespace {

using nlohmann::ordered_json;

struct ComponentIo {
  ort::OnnxFileInfo file;
  std::optional<models::DecoderIo> decoder;
};

ordered_json tensor_json(const ort::TensorInfo& t) {
  ordered_json shape = ordered_json::array();
  for (const auto& d : t.shape) {
    if (d.fixed())
      shape.push_back(d.value);
    else
      shape.push_back(d.symbol.empty() ? "?" : d.symbol);
  }
  return {{"name", t.name}, {"type", t.is_tensor ? ort::element_type_name(t.type) : "non-tensor"}, {"shape", shape}};
}

ordered_json kv_json(const models::DecoderIo& io) {
  const auto& kv = io.kv;
  ordered_json inputs = ordered_json::array();
  auto add = [&](bool on, const char* name) {
    if (on) inputs.push_back(name);
  };
  add(io.input_ids, "input_ids");
  add(io.inputs_embeds, "inputs_embeds");
  add(io.per_layer_inputs, "per_layer_inputs");
  add(io.position_ids, "position_ids");
  add(io.attention_mask, "attention_mask");
  add(io.num_logits_to_keep, "num_logits_to_keep");
  add(io.use_cache_branch, "use_cache_branch");
  add(io.cache_position, "cache_position");
  ordered_json layer_shapes = ordered_json::array();
  for (const auto& s : kv.layer_shapes) layer_shapes.push_back(ordered_json::array({s.kv_heads, s.head_dim}));
  return {{"layers", kv.layers},
          {"past_key", kv.past_key_format},
          {"past_value", kv.past_value_format},
          {"present_key", kv.present_key_format},
          {"present_value", kv.present_value_format},
          {"type", ort::element_type_name(kv.type)},
          {"shape", kv.shape},
          {"kv_heads", kv.kv_heads},
          {"head_dim", kv.head_dim},
          {"layer_shapes", layer_shapes},
          {"presents_complete", kv.presents_complete},
          {"group_query_attention", kv.group_query_attention},
          {"shared_buffer", kv.group_query_attention},
          {"step_inputs", inputs},
          {"other_inputs", io.other_inputs},
          {"logits", io.logits},
          {"vocab", io.vocab},
          {"problems", io.problems}};
}

// The 4-bit MatMulNBits nodes of a graph: their accuracy_level as exported and what loading with
// --matmul-precision makes of them (the graph is rewritten in memory, never on disk).
ordered_json matmul_json(const ort::OnnxFileInfo& file, const Options& options) {
  const auto precision = ort::parse_matmul_precision(options.matmul_precision).value_or(ort::MatmulPrecision::Auto);
  const ort::MatmulPlan plan = ort::plan_matmul_precision(file, precision, options.provider);
  ordered_json levels = ordered_json::object();
  for (const auto& [level, n] : file.matmul_4bit_levels) levels[std::to_string(level)] = n;
  return {{"nodes", plan.nodes},
          {"accuracy_levels", levels},
          {"loads_as", plan.effective},
          {"accuracy_level", plan.level ? ordered_json(*plan.level) : ordered_json(nullptr)},
          {"nodes_changed", plan.changed},
          {"kernel", plan.packed_kernel ? "onnx-chat avx512-vnni" : "onnxruntime"}};
}

std::string matmul_line(const ort::OnnxFileInfo& file, const Options& options) {
  const auto precision = ort::parse_matmul_precision(options.matmul_precision).value_or(ort::MatmulPrecision::Auto);
  const ort::MatmulPlan plan = ort::plan_matmul_precision(file, precision, options.provider);
  if (plan.nodes == 0) return {};
  std::string exported;
  for (const auto& [level, n] : file.matmul_4bit_levels)
    exported += (exported.empty() ? "" : ", ") + std::to_string(n) + " at " +
                (level ? "accuracy_level " + std::to_string(level) : std::string("accuracy_level unset"));
  return std::to_string(plan.nodes) + " 4-bit MatMulNBits (" + exported + "): load as " + plan.effective + " (" +
         std::to_string(plan.changed) + " changed, --matmul-precision " + options.matmul_precision + ")" +
         (plan.packed_kernel ? ", on onnx-chat's AVX-512 VNNI kernel where block_size is 32" : "");
}

ComponentIo read_io(const models::Component& c, const models::Variant& v) {
  ComponentIo out{ort::read_onnx_file(v.onnx), std::nullopt};
  if (c.role == "decoder")
    out.decoder = models::infer_decoder_io(out.file.inputs, out.file.outputs,
                                           out.file.has_op("com.microsoft.GroupQueryAttention"));
  return out;
}

// Prints tensors, folding per-layer names ("past_key_values.0.key" .. ".33.key") of one type and
// shape into one line with the layer range.
void print_tensors(const char* title, const std::vector<ort::TensorInfo>& tensors) {
  struct Group {
    std::string pattern, type, shape;
    std::vector<int> layers;
    const ort::TensorInfo* first;
  };
  std::vector<Group> groups;
  for (const auto& t : tensors) {
    auto parts = split(t.name, '.');
    int layer = -1;
    for (auto& p : parts)
      if (!p.empty() && p.find_first_not_of("0123456789") == std::string::npos) {
        layer = std::stoi(p);
        p = "{}";
        break;
      }
    std::string pattern = layer >= 0 ? join(parts, ".") : t.name;
    std::string type = t.is_tensor ? ort::element_type_name(t.type) : "-";
    Group* g = nullptr;
    if (layer >= 0)
      for (auto& existing : groups)
        if (existing.pattern == pattern && existing.type == type && existing.shape == t.shape_str()) g = &existing;
    if (!g) {
      groups.push_back({pattern, type, t.shape_str(), {}, &t});
      g = &groups.back();
    }
    if (layer >= 0) g->layers.push_back(layer);
  }
  std::printf("      %s:\n", title);
  for (const auto& g : groups) {
    std::string name = g.first->name;
    if (g.layers.size() > 1) {
      auto pos = g.pattern.find("{}");
      name = g.pattern.substr(0, pos) + "{" + std::to_string(g.layers.front()) + ".." +
             std::to_string(g.layers.back()) + "}" + g.pattern.substr(pos + 2);
    }
    std::printf("        %-40s %-8s %s\n", name.c_str(), g.type.c_str(), g.shape.c_str());
  }
}

struct Modality {
  std::string name;
  bool ready;
  std::string missing;
};

std::vector<Modality> modalities(const models::RepoInfo& repo, const std::optional<models::DecoderIo>& dec) {
  std::vector<Modality> out;
  std::vector<std::string> miss;
  const auto* decoder = repo.component_by_role("decoder");
  if (!decoder) miss.push_back("a decoder (onnx/decoder_model_merged*.onnx or onnx/model*.onnx)");
  if (dec && dec->inputs_embeds && !dec->input_ids && !repo.component_by_role("embed"))
    miss.push_back("onnx/embed_tokens*.onnx");
  if (!repo.has_file("tokenizer.json")) miss.push_back("tokenizer.json");
  out.push_back({"text", miss.empty(), join(miss, ", ")});
  for (auto [name, role] : {std::pair{"image", "vision"}, std::pair{"audio", "audio"}}) {
    std::vector<std::string> m;
    if (!repo.component_by_role(role)) m.push_back(std::string("onnx/") + role + "_encoder*.onnx");
    if (!repo.has_file("preprocessor_config.json")) m.push_back("preprocessor_config.json");
    out.push_back({name, m.empty(), join(m, ", ")});
  }
  return out;
}

int run_inspect(const std::string& path, const Options& options) {
  auto repo = models::discover_repo(path);
  std::map<std::string, std::map<std::string, ComponentIo>> io;  // component -> dtype -> io
  std::optional<models::DecoderIo> decoder_io;
  for (const auto& c : repo.components)
    for (const auto& v : c.variants) {
      auto info = read_io(c, v);
      if (info.decoder && !decoder_io) decoder_io = info.decoder;
      io[c.name].emplace(v.dtype, std::move(info));
    }
  auto mods = modalities(repo, decoder_io);
  auto choice = models::choose_variants(repo, options.preset);
  std::string chat_template = repo.has_file("chat_template.jinja") ? "chat_template.jinja" : "";

  if (options.json) {
    ordered_json out;
    out["path"] = repo.dir.string();
    out["model_type"] = repo.model_type;
    out["text_model_type"] = repo.text_model_type;
    out["architectures"] = repo.architectures;
    ordered_json files = ordered_json::object();
    for (const auto& [name, present] : repo.files) files[name] = present;
    out["files"] = files;
    ordered_json comps = ordered_json::array();
    for (const auto& c : repo.components) {
      ordered_json jc{{"name", c.name}, {"role", c.role}};
      ordered_json vars = ordered_json::array();
      for (const auto& v : c.variants) {
        const auto& info = io[c.name].at(v.dtype);
        ordered_json jv{{"dtype", v.dtype},
                        {"file", fs::relative(v.onnx, repo.dir).generic_string()},
                        {"bytes", v.bytes},
                        {"ir_version", info.file.ir_version},
                        {"producer", info.file.producer}};
        ordered_json data = ordered_json::array();
        for (const auto& d : v.data)
          data.push_back({{"file", fs::relative(d, repo.dir).generic_string()}, {"bytes", file_size_or_zero(d)}});
        jv["external_data"] = data;
        jv["external_data_referenced"] = info.file.external_data;
        ordered_json ins = ordered_json::array(), outs = ordered_json::array();
        for (const auto& t : info.file.inputs) ins.push_back(tensor_json(t));
        for (const auto& t : info.file.outputs) outs.push_back(tensor_json(t));
        jv["inputs"] = ins;
        jv["outputs"] = outs;
        ordered_json ops = ordered_json::object();
        for (const auto& [op, n] : info.file.op_counts)
          if (op.find('.') != std::string::npos || op == "MatMul" || op == "Gather" || op == "If") ops[op] = n;
        jv["notable_ops"] = ops;
        jv["matmul_nbits_4bit"] = matmul_json(info.file, options);
        if (info.decoder) jv["kv_cache"] = kv_json(*info.decoder);
        vars.push_back(jv);
      }
      jc["variants"] = vars;
      comps.push_back(jc);
    }
    out["components"] = comps;
    ordered_json jm = ordered_json::object();
    for (const auto& m : mods) jm[m.name] = {{"ready", m.ready}, {"missing", m.missing}};
    out["modalities"] = jm;
    out["matmul_precision"] = to_lower(options.matmul_precision);
    ordered_json preset{{"name", options.preset.empty() ? "Q4_MIXED" : options.preset}};
    ordered_json chosen = ordered_json::object();
    for (const auto& [name, v] : choice.chosen) chosen[name] = v->dtype;
    preset["chosen"] = chosen;
    preset["notes"] = choice.notes;
    out["preset"] = preset;
    std::cout << out.dump(2) << "\n";
    return 0;
  }

  std::printf("model: %s\n", repo.dir.string().c_str());
  std::printf("  model_type: %s%s%s\n", repo.model_type.empty() ? "(none)" : repo.model_type.c_str(),
              repo.text_model_type.empty() ? "" : ", text: ", repo.text_model_type.c_str());
  std::printf("  files:");
  for (const auto& [name, present] : repo.files)
    if (present) std::printf(" %s", name.c_str());
  std::printf("\ncomponents:\n");
  for (const auto& c : repo.components) {
    std::printf("  %s (%s)\n", c.name.c_str(), c.role.c_str());
    for (const auto& v : c.variants) {
      std::printf("    %-10s %10s  %s", v.dtype.c_str(), human_bytes(v.bytes).c_str(),
                  fs::relative(v.onnx, repo.dir).generic_string().c_str());
      if (!v.data.empty()) std::printf(" (+%zu external data file%s)", v.data.size(), v.data.size() == 1 ? "" : "s");
      const auto& refs = io[c.name].at(v.dtype).file.external_data;
      size_t missing = 0;
      for (const auto& r : refs) missing += fs::exists(v.onnx.parent_path() / r) ? 0 : 1;
      if (missing) std::printf(" [%zu referenced weight file%s missing]", missing, missing == 1 ? "" : "s");
      std::printf("\n");
      const std::string matmul = matmul_line(io[c.name].at(v.dtype).file, options);
      if (!matmul.empty()) std::printf("               %s\n", matmul.c_str());
    }
    // Inputs/outputs of the first variant, then what differs in the others.
    const auto& first = io[c.name].at(c.variants.front().dtype);
    std::printf("    io (%s):\n", c.variants.front().dtype.c_str());
    print_tensors("inputs", first.file.inputs);
    print_tensors("outputs", first.file.outputs);
    for (size_t k = 1; k < c.variants.size(); ++k) {
      const auto& other = io[c.name].at(c.variants[k].dtype);
      std::vector<std::string> diffs;
      auto compare = [&](const std::vector<ort::TensorInfo>& a, const std::vector<ort::TensorInfo>& b) {
        for (const auto& t : b) {
          const ort::TensorInfo* match = nullptr;
          for (const auto& s : a)
            if (s.name == t.name) match = &s;
          if (!match)
            diffs.push_back(t.name + " (only here)");
          else if (match->type != t.type)
            diffs.push_back(t.name + " " + ort::element_type_name(t.type));
        }
      };
      compare(first.file.inputs, other.file.inputs);
      compare(first.file.outputs, other.file.outputs);
      if (!diffs.empty()) {
        if (diffs.size() > 4) {
          size_t n = diffs.size();
          diffs.resize(4);
          diffs.push_back("... " + std::to_string(n - 4) + " more");
        }
        std::printf("    %s differs: %s\n", c.variants[k].dtype.c_str(), join(diffs, ", ").c_str());
      }
    }
    if (first.decoder) {
      const auto& d = *first.decoder;
      const auto& kv = d.kv;
      std::printf("    kv cache: %d layers, %s %s, heads %lld, head_dim %lld%s%s\n", kv.layers,
                  ort::element_type_name(kv.type), ("[" + join(kv.shape, ",") + "]").c_str(),
                  static_cast<long long>(kv.kv_heads), static_cast<long long>(kv.head_dim),
                  kv.presents_complete ? ", presents for every layer" : "",
                  kv.group_query_attention ? ", GroupQueryAttention (past/present can share one buffer)" : "");
      if (std::any_of(kv.layer_shapes.begin(), kv.layer_shapes.end(),
                      [&](const models::KvShape& s) { return !(s == kv.layer_shapes.front()); })) {
        std::vector<std::string> shapes;
        for (const auto& s : kv.layer_shapes)
          shapes.push_back("[" + std::to_string(s.kv_heads) + "," + std::to_string(s.head_dim) + "]");
        std::printf("    kv cache shape per layer (heads, head_dim): %s\n", join(shapes, " ").c_str());
      }
      std::vector<std::string> step;
      if (d.input_ids) step.push_back("input_ids");
      if (d.inputs_embeds) step.push_back("inputs_embeds");
      if (d.per_layer_inputs) step.push_back("per_layer_inputs");
      if (d.position_ids) step.push_back("position_ids");
      if (d.attention_mask) step.push_back("attention_mask");
      if (d.num_logits_to_keep) step.push_back("num_logits_to_keep");
      if (d.use_cache_branch) step.push_back("use_cache_branch");
      if (d.cache_position) step.push_back("cache_position");
      std::printf("    step inputs: %s; logits: %s (vocab %lld)\n", join(step, ", ").c_str(), d.logits.c_str(),
                  static_cast<long long>(d.vocab));
      for (const auto& p : d.problems) std::printf("    problem: %s\n", p.c_str());
    }
  }
  std::printf("modalities:\n");
  for (const auto& m : mods)
    std::printf("  %-6s %s\n", m.name.c_str(), m.ready ? "ready" : ("missing " + m.missing).c_str());
  std::printf("preset %s:", options.preset.empty() ? "Q4_MIXED" : options.preset.c_str());
  for (const auto& [name, v] : choice.chosen) std::printf(" %s=%s", name.c_str(), v->dtype.c_str());
  std::printf("\n");
  for (const auto& n : choice.notes) std::printf("  note: %s\n", n.c_str());
  return 0;
}

RegisterCommand reg{
    {"inspect", "show a model folder's components, variants, inputs/outputs and KV layout",
     [](CLI::App& cmd, Options& options) -> std::function<int()> {
       auto path = std::make_shared<std::string>();
       cmd.add_option("path", *path, "model folder")->required();
       add_options(cmd, options,
                   {"json", "check", "preset", "threads", "provider", "device-id", "matmul-precision", "log-level"});
       return [path, &options] {
         return options.check ? run_inspect_checks(*path, options) : run_inspect(*path, options);
       };
     }}};

}  // namespace
}  // namespace oc::app
