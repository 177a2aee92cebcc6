#include "ort/matmul_precision.h"

#include <functional>

#include "common/strings.h"
#include "ort/onnx_file.h"
#include "ort/protobuf_wire.h"
#include "ort/q4_matmul.h"

namespace oc::ort {
namespace {

using wire::Reader;

// One field of a message: its bytes as stored (key included) and, when length-delimited, its payload.
struct Field {
  int number = 0;
  int type = 0;
  std::string_view raw;
  Reader payload{nullptr, nullptr};
};

template <typename F>
void each_field(Reader r, F&& f) {
  while (!r.done()) {
    const uint8_t* begin = r.p;
    const uint64_t key = r.varint();
    Field field;
    field.number = static_cast<int>(key >> 3);
    field.type = static_cast<int>(key & 7);
    if (field.type == 2)
      field.payload = r.bytes();
    else
      r.skip(field.type);
    field.raw = {reinterpret_cast<const char*>(begin), static_cast<size_t>(r.p - begin)};
    f(field);
  }
}

// An AttributeProto's name and integer value (i).
struct Attribute {
  std::string_view name;
  int64_t i = 0;
};

Attribute read_attribute(Reader r) {
  Attribute a;
  r.each([&](int field, int type) {
    if (field == 1 && type == 2) {
      a.name = r.view();
      return true;
    }
    if (field == 3 && type == 0) {
      a.i = static_cast<int64_t>(r.varint());
      return true;
    }
    return false;
  });
  return a;
}

std::string int_attribute(std::string_view name, int64_t value) {
  std::string a;
  wire::put_bytes(a, 1, name);
  wire::put_key(a, 3, 0);
  wire::put_varint(a, static_cast<uint64_t>(value));
  wire::put_key(a, 20, 0);  // type: AttributeProto.INT
  wire::put_varint(a, 2);
  return a;
}

// Rewritten sub-messages or nullopt when nothing inside changed; unchanged fields are copied as
// stored, so the output differs from the input only where a node changed.
using Sub = std::function<std::optional<std::string>(const Field&)>;

std::optional<std::string> rewrite_message(Reader r, const Sub& sub) {
  const char* start = reinterpret_cast<const char*>(r.p);
  std::optional<std::string> out;
  each_field(r, [&](const Field& f) {
    std::optional<std::string> changed = f.type == 2 ? sub(f) : std::nullopt;
    if (changed && !out) out.emplace(start, static_cast<size_t>(f.raw.data() - start));
    if (changed)
      wire::put_bytes(*out, f.number, *changed);
    else if (out)
      out->append(f.raw);
  });
  return out;
}

struct Rewriter {
  int64_t level;

  std::optional<std::string> graph(Reader r) {  // GraphProto.node = 1
    return rewrite_message(r, [&](const Field& f) { return f.number == 1 ? node(f.payload) : std::nullopt; });
  }

  std::optional<std::string> attribute(Reader r) {  // AttributeProto.g = 6, graphs = 11
    return rewrite_message(
        r, [&](const Field& f) { return f.number == 6 || f.number == 11 ? graph(f.payload) : std::nullopt; });
  }

  std::optional<std::string> node(Reader r) {  // NodeProto: op_type 4, attribute 5, domain 7
    std::string_view op, domain;
    int64_t bits = 4;
    Reader scan = r;
    scan.each([&](int field, int type) {
      if (type != 2) return false;
      if (field == 4)
        op = scan.view();
      else if (field == 7)
        domain = scan.view();
      else if (field == 5) {
        Attribute a = read_attribute(scan.bytes());
        if (a.name == "bits") bits = a.i;
      } else
        return false;
      return true;
    });
    if (op != "MatMulNBits" || domain != "com.microsoft" || bits != 4)
      return rewrite_message(r, [&](const Field& f) { return f.number == 5 ? attribute(f.payload) : std::nullopt; });
    std::string out;
    bool found = false, changed = false;
    each_field(r, [&](const Field& f) {
      if (f.number == 5 && f.type == 2) {
        Attribute a = read_attribute(f.payload);
        if (a.name == "accuracy_level") {
          found = true;
          if (a.i != level) {
            changed = true;
            wire::put_bytes(out, 5, int_attribute("accuracy_level", level));
            return;
          }
        }
      }
      out.append(f.raw);
    });
    if (!found) {
      changed = true;
      wire::put_bytes(out, 5, int_attribute("accuracy_level", level));
    }
    return changed ? std::optional(std::move(out)) : std::nullopt;
  }
};

}  // namespace

std::optional<MatmulPrecision> parse_matmul_precision(std::string_view value) {
  const std::string v = to_lower(std::string(value));
  if (v == "auto") return MatmulPrecision::Auto;
  if (v == "exact") return MatmulPrecision::Exact;
  if (v == "int8") return MatmulPrecision::Int8;
  if (v == "fp16") return MatmulPrecision::Fp16;
  if (v == "fp32") return MatmulPrecision::Fp32;
  return std::nullopt;
}

const char* matmul_precision_name(MatmulPrecision precision) {
  switch (precision) {
    case MatmulPrecision::Auto:
      return "auto";
    case MatmulPrecision::Exact:
      return "exact";
    case MatmulPrecision::Int8:
      return "int8";
    case MatmulPrecision::Fp16:
      return "fp16";
    case MatmulPrecision::Fp32:
      return "fp32";
  }
  return "exact";
}

std::optional<int64_t> matmul_accuracy_level(MatmulPrecision precision, std::string_view provider) {
  switch (precision) {
    case MatmulPrecision::Auto: {
      const std::string p = to_lower(std::string(provider));
      if (p.empty() || p == "cpu") return 4;
      return std::nullopt;
    }
    case MatmulPrecision::Exact:
      return std::nullopt;
    case MatmulPrecision::Int8:
      return 4;
    case MatmulPrecision::Fp16:
      return 2;
    case MatmulPrecision::Fp32:
      return 1;
  }
  return std::nullopt;
}

const char* accuracy_level_name(int64_t level) {
  switch (level) {
    case 1:
      return "fp32";
    case 2:
      return "fp16";
    case 3:
      return "bf16";
    case 4:
      return "int8";
    default:
      return "exact";
  }
}

MatmulPlan plan_matmul_precision(const OnnxFileInfo& info, MatmulPrecision precision, std::string_view provider) {
  MatmulPlan plan;
  for (const auto& [level, n] : info.matmul_4bit_levels) plan.nodes += n;
  if (plan.nodes == 0) return plan;
  plan.level = matmul_accuracy_level(precision, provider);
  if (!plan.level) {
    plan.effective = "exact";
    return plan;
  }
  auto same = info.matmul_4bit_levels.find(*plan.level);
  plan.changed = plan.nodes - (same == info.matmul_4bit_levels.end() ? 0 : same->second);
  plan.effective = accuracy_level_name(*plan.level);
  plan.packed_kernel = precision == MatmulPrecision::Auto && *plan.level == 4 && q4::supported();
  return plan;
}

std::string set_matmul_accuracy_level(std::string_view model, int64_t level) {
  Reader r{reinterpret_cast<const uint8_t*>(model.data()),
           reinterpret_cast<const uint8_t*>(model.data()) + model.size()};
  Rewriter rewriter{level};
  // ModelProto.graph = 7 (functions are left alone: the exports put no MatMulNBits there)
  auto out =
      rewrite_message(r, [&](const Field& f) { return f.number == 7 ? rewriter.graph(f.payload) : std::nullopt; });
  return out ? std::move(*out) : std::string(model);
}

}  // namespace oc::ort
