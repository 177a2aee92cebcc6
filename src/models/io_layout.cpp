#include "models/io_layout.h"

#include <map>
#include <set>

#include "common/strings.h"

namespace oc::models {
namespace {

std::string format_name(const std::string& pattern, int layer) {
  std::string out = pattern;
  auto pos = out.find("{i}");
  if (pos != std::string::npos) out.replace(pos, 3, std::to_string(layer));
  return out;
}

// "past_key_values.12.key" -> {"past_key_values.{i}.key", 12}
bool split_layer_name(const std::string& name, std::string& pattern, int& layer) {
  auto parts = split(name, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& p = parts[i];
    if (p.empty() || p.find_first_not_of("0123456789") != std::string::npos) continue;
    layer = std::stoi(p);
    parts[i] = "{i}";
    pattern = join(parts, ".");
    return true;
  }
  return false;
}

struct KvScan {
  std::map<std::string, std::set<int>> by_pattern;  // pattern -> layers
  void add(const std::string& name) {
    std::string pattern;
    int layer = 0;
    if (split_layer_name(name, pattern, layer)) by_pattern[pattern].insert(layer);
  }
  std::string find(std::string_view prefix, std::string_view suffix) const {
    for (const auto& [pattern, layers] : by_pattern)
      if (starts_with(pattern, prefix) && ends_with(pattern, suffix)) return pattern;
    return {};
  }
};

}  // namespace

std::string KvLayout::past_key(int layer) const { return format_name(past_key_format, layer); }
std::string KvLayout::past_value(int layer) const { return format_name(past_value_format, layer); }
std::string KvLayout::present_key(int layer) const { return format_name(present_key_format, layer); }
std::string KvLayout::present_value(int layer) const { return format_name(present_value_format, layer); }

DecoderIo infer_decoder_io(const std::vector<ort::TensorInfo>& inputs, const std::vector<ort::TensorInfo>& outputs,
                           bool has_group_query_attention) {
  DecoderIo io;
  KvScan past, present;
  const ort::TensorInfo* first_past = nullptr;
  for (const auto& in : inputs) {
    const auto& n = in.name;
    if (n == "input_ids")
      io.input_ids = true;
    else if (n == "inputs_embeds")
      io.inputs_embeds = true;
    else if (n == "per_layer_inputs")
      io.per_layer_inputs = true;
    else if (n == "position_ids")
      io.position_ids = true;
    else if (n == "attention_mask")
      io.attention_mask = true;
    else if (n == "num_logits_to_keep" || n == "logits_to_keep")
      io.num_logits_to_keep = true;
    else if (n == "use_cache_branch")
      io.use_cache_branch = true;
    else if (n == "cache_position")
      io.cache_position = true;
    else if (starts_with(n, "past")) {
      past.add(n);
      if (!first_past) first_past = &in;
    } else
      io.other_inputs.push_back(n);
  }
  for (const auto& out : outputs) {
    if (starts_with(out.name, "present"))
      present.add(out.name);
    else if (out.name == "logits" || ends_with(out.name, "logits")) {
      io.logits = out.name;
      if (!out.shape.empty() && out.shape.back().fixed()) io.vocab = out.shape.back().value;
    }
  }

  auto& kv = io.kv;
  kv.past_key_format = past.find("past", ".key");
  kv.past_value_format = past.find("past", ".value");
  kv.present_key_format = present.find("present", ".key");
  kv.present_value_format = present.find("present", ".value");
  kv.group_query_attention = has_group_query_attention;
  if (!kv.past_key_format.empty() && !kv.past_value_format.empty()) {
    const auto& keys = past.by_pattern[kv.past_key_format];
    const auto& values = past.by_pattern[kv.past_value_format];
    kv.layers = static_cast<int>(std::min(keys.size(), values.size()));
    if (keys != values) io.problems.push_back("past key and value inputs cover different layers");
    int expected = 0;
    for (int l : keys)
      if (l != expected++) {
        io.problems.push_back("past key inputs are not numbered 0..N-1");
        break;
      }
    if (!kv.present_key_format.empty() && !kv.present_value_format.empty())
      kv.presents_complete =
          present.by_pattern[kv.present_key_format] == keys && present.by_pattern[kv.present_value_format] == values;
    if (!kv.presents_complete) io.problems.push_back("not every past input has a present output");
  }
  if (first_past) {
    kv.type = first_past->type;
    for (const auto& d : first_past->shape) kv.shape.push_back(d.str());
    if (first_past->shape.size() == 4) {
      if (first_past->shape[1].fixed()) kv.kv_heads = first_past->shape[1].value;
      if (first_past->shape[3].fixed()) kv.head_dim = first_past->shape[3].value;
      kv.past_length_symbol = first_past->shape[2].symbol;
    }
    // One cache shape for every layer: inputs whose heads or head size differ (fixed in both) cannot
    // be fed.
    for (const auto& in : inputs) {
      if (!starts_with(in.name, "past") || in.shape.size() != 4 || first_past->shape.size() != 4) continue;
      bool same = true;
      for (size_t d : {1, 3})
        same &=
            !in.shape[d].fixed() || !first_past->shape[d].fixed() || in.shape[d].value == first_past->shape[d].value;
      if (!same) {
        io.problems.push_back("past inputs differ in shape (" + first_past->name + " " + first_past->shape_str() +
                              ", " + in.name + " " + in.shape_str() + "): a cache shape per layer is not supported");
        break;
      }
    }
  }
  if (!io.input_ids && !io.inputs_embeds) io.problems.push_back("neither input_ids nor inputs_embeds is an input");
  bool has_logits = false;
  for (const auto& out : outputs) has_logits |= out.name == io.logits;
  if (!has_logits) io.problems.push_back("no logits output");
  return io;
}

}  // namespace oc::models
