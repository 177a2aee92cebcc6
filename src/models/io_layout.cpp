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
  }
  // Each layer's shape from its past inputs: key and value must agree where both are fixed.
  std::map<std::string, const ort::TensorInfo*> by_name;
  for (const auto& in : inputs) by_name[in.name] = &in;
  auto shape_of = [](const ort::TensorInfo* t) {
    KvShape s;
    if (t && t->shape.size() == 4) {
      if (t->shape[1].fixed()) s.kv_heads = t->shape[1].value;
      if (t->shape[3].fixed()) s.head_dim = t->shape[3].value;
    }
    return s;
  };
  int mismatch = 0;
  for (int i = 0; i < kv.layers; ++i) {
    const auto* key = by_name[kv.past_key(i)];
    const auto* value = by_name[kv.past_value(i)];
    KvShape k = shape_of(key), v = shape_of(value);
    auto agree = [](int64_t a, int64_t b) { return a < 0 || b < 0 || a == b; };
    if (key && value && (!agree(k.kv_heads, v.kv_heads) || !agree(k.head_dim, v.head_dim)) && !mismatch++)
      io.problems.push_back("past key and value differ in shape (" + key->name + " " + key->shape_str() + ", " +
                            value->name + " " + value->shape_str() + ")");
    kv.layer_shapes.push_back({k.kv_heads >= 0 ? k.kv_heads : v.kv_heads, k.head_dim >= 0 ? k.head_dim : v.head_dim});
  }
  if (!io.input_ids && !io.inputs_embeds) io.problems.push_back("neither input_ids nor inputs_embeds is an input");
  bool has_logits = false;
  for (const auto& out : outputs) has_logits |= out.name == io.logits;
  if (!has_logits) io.problems.push_back("no logits output");
  return io;
}

std::vector<KvShape> resolve_kv_shapes(const KvLayout& layout, KvShape fallback, const std::vector<KvShape>& config) {
  std::vector<KvShape> out;
  for (int i = 0; i < layout.layers; ++i) {
    KvShape s = i < static_cast<int>(layout.layer_shapes.size()) ? layout.layer_shapes[i] : KvShape{};
    const KvShape& c = i < static_cast<int>(config.size()) ? config[i] : fallback;
    if (s.kv_heads <= 0) s.kv_heads = c.kv_heads > 0 ? c.kv_heads : fallback.kv_heads;
    if (s.head_dim <= 0) s.head_dim = c.head_dim > 0 ? c.head_dim : fallback.head_dim;
    out.push_back(s);
  }
  return out;
}

}  // namespace oc::models
