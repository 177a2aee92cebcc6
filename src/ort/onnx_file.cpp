#include "ort/onnx_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string_view>

#include "common/error.h"
#include "ort/protobuf_wire.h"

namespace oc::ort {
namespace {

using wire::Reader;

Dim read_dim(Reader r) {
  Dim d;
  r.each([&](int field, int wire) {
    if (field == 1 && wire == 0) {
      d.value = static_cast<int64_t>(r.varint());
      return true;
    }
    if (field == 2 && wire == 2) {
      d.symbol = std::string(r.view());
      return true;
    }
    return false;
  });
  return d;
}

void read_tensor_type(Reader r, TensorInfo& info) {
  r.each([&](int field, int wire) {
    if (field == 1 && wire == 0) {
      info.type = static_cast<ONNXTensorElementDataType>(r.varint());
      return true;
    }
    if (field == 2 && wire == 2) {
      Reader shape = r.bytes();
      shape.each([&](int f, int w) {
        if (f == 1 && w == 2) {
          info.shape.push_back(read_dim(shape.bytes()));
          return true;
        }
        return false;
      });
      return true;
    }
    return false;
  });
}

TensorInfo read_value_info(Reader r) {
  TensorInfo info;
  info.is_tensor = false;
  r.each([&](int field, int wire) {
    if (field == 1 && wire == 2) {
      info.name = std::string(r.view());
      return true;
    }
    if (field == 2 && wire == 2) {
      Reader type = r.bytes();
      type.each([&](int f, int w) {
        if (f == 1 && w == 2) {
          info.is_tensor = true;
          read_tensor_type(type.bytes(), info);
          return true;
        }
        return false;
      });
      return true;
    }
    return false;
  });
  return info;
}

struct GraphScan {
  OnnxFileInfo& out;
  std::set<std::string> seen_external;

  void initializer(Reader r, std::set<std::string>* names) {
    ++out.initializer_count;
    r.each([&](int field, int wire) {
      if (field == 8 && wire == 2) {
        if (names)
          names->insert(std::string(r.view()));
        else
          r.view();
        return true;
      }
      if (field == 9 && wire == 2) {
        Reader raw = r.bytes();
        out.inline_weight_bytes += static_cast<uint64_t>(raw.end - raw.p);
        return true;
      }
      if (field == 13 && wire == 2) {
        Reader entry = r.bytes();
        std::string key, value;
        entry.each([&](int f, int w) {
          if (f == 1 && w == 2) {
            key = std::string(entry.view());
            return true;
          }
          if (f == 2 && w == 2) {
            value = std::string(entry.view());
            return true;
          }
          return false;
        });
        if (key == "location" && seen_external.insert(value).second) out.external_data.push_back(value);
        return true;
      }
      return false;
    });
  }

  void node(Reader r) {
    std::string op, domain;
    int64_t bits = 4, accuracy_level = 0;  // MatMulNBits' defaults
    r.each([&](int field, int wire) {
      if (field == 4 && wire == 2) {
        op = std::string(r.view());
        return true;
      }
      if (field == 7 && wire == 2) {
        domain = std::string(r.view());
        return true;
      }
      if (field == 5 && wire == 2) {  // attribute: may hold subgraphs (If / Loop / Scan)
        Reader attr = r.bytes();
        std::string_view name;
        int64_t value = 0;
        attr.each([&](int f, int w) {
          if (f == 1 && w == 2) {
            name = attr.view();
            return true;
          }
          if (f == 3 && w == 0) {
            value = static_cast<int64_t>(attr.varint());
            return true;
          }
          if ((f == 6 || f == 11) && w == 2) {
            graph(attr.bytes(), false);
            return true;
          }
          return false;
        });
        if (name == "bits") bits = value;
        if (name == "accuracy_level") accuracy_level = value;
        return true;
      }
      return false;
    });
    if (domain == "ai.onnx") domain.clear();
    ++out.op_counts[domain.empty() ? op : domain + "." + op];
    if (op == "MatMulNBits" && domain == "com.microsoft" && bits == 4) ++out.matmul_4bit_levels[accuracy_level];
  }

  void graph(Reader r, bool top) {
    std::set<std::string> init_names;
    std::vector<TensorInfo> inputs;
    r.each([&](int field, int wire) {
      if (wire != 2) return false;
      switch (field) {
        case 1:
          node(r.bytes());
          return true;
        case 5:
          initializer(r.bytes(), top ? &init_names : nullptr);
          return true;
        case 11:
          if (top)
            inputs.push_back(read_value_info(r.bytes()));
          else
            r.bytes();
          return true;
        case 12:
          if (top)
            out.outputs.push_back(read_value_info(r.bytes()));
          else
            r.bytes();
          return true;
        default:
          return false;
      }
    });
    if (top)
      for (auto& in : inputs)
        if (!init_names.count(in.name)) out.inputs.push_back(std::move(in));
  }
};

}  // namespace

const TensorInfo* OnnxFileInfo::input(std::string_view name) const {
  for (const auto& t : inputs)
    if (t.name == name) return &t;
  return nullptr;
}

const TensorInfo* OnnxFileInfo::output(std::string_view name) const {
  for (const auto& t : outputs)
    if (t.name == name) return &t;
  return nullptr;
}

OnnxFileInfo read_onnx_bytes(std::string_view bytes, const std::string& name) {
  OnnxFileInfo info;
  try {
    Reader model{reinterpret_cast<const uint8_t*>(bytes.data()),
                 reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size()};
    bool saw_graph = false;
    GraphScan scan{info, {}};
    model.each([&](int field, int wire) {
      if (field == 1 && wire == 0) {
        info.ir_version = static_cast<int64_t>(model.varint());
        return true;
      }
      if (field == 2 && wire == 2) {
        info.producer = std::string(model.view());
        return true;
      }
      if (field == 8 && wire == 2) {
        Reader opset = model.bytes();
        std::string domain;
        int64_t version = 0;
        opset.each([&](int f, int w) {
          if (f == 1 && w == 2) {
            domain = std::string(opset.view());
            return true;
          }
          if (f == 2 && w == 0) {
            version = static_cast<int64_t>(opset.varint());
            return true;
          }
          return false;
        });
        if (domain == "ai.onnx") domain.clear();
        info.opsets[domain] = version;
        return true;
      }
      if (field == 7 && wire == 2) {
        saw_graph = true;
        scan.graph(model.bytes(), true);
        return true;
      }
      return false;
    });
    if (!saw_graph || info.ir_version == 0) throw std::runtime_error("no graph");
  } catch (const std::exception& e) {
    throw Error(ErrorKind::ModelLoad, name + " is not a valid ONNX model (" + e.what() + ")");
  }
  return info;
}

OnnxFileInfo read_onnx_file(const std::filesystem::path& path) {
  MappedFile file(path);
  return read_onnx_bytes(file.bytes(), path.string());
}

MappedFile::MappedFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::ModelLoad, "cannot open " + path.string());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
    ::close(fd);
    throw Error(ErrorKind::ModelLoad, path.string() + " is empty or unreadable");
  }
  size_ = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw Error(ErrorKind::ModelLoad, "cannot map " + path.string());
  data_ = static_cast<const char*>(map);
}

MappedFile::~MappedFile() { ::munmap(const_cast<char*>(data_), size_); }

}  // namespace oc::ort
