// Post-processors: add the special tokens of the template around the encoded ids.
#include "tokenizer/components.h"

namespace oc::tok {
namespace {

struct TemplatePostProcessor : PostProcessor {
  std::vector<TemplatePiece> single;
  std::vector<TokenId> process(std::vector<TokenId> ids, bool add_special_tokens) const override {
    std::vector<TokenId> out;
    out.reserve(ids.size() + single.size());
    for (const auto& p : single) {
      if (p.is_special) {
        if (add_special_tokens && p.special_id) out.push_back(*p.special_id);
      } else if (p.sequence_a) {
        out.insert(out.end(), ids.begin(), ids.end());
      }
    }
    return out;
  }
};

struct PassthroughPostProcessor : PostProcessor {
  std::vector<TokenId> process(std::vector<TokenId> ids, bool) const override { return ids; }
};

struct ClsSepPostProcessor : PostProcessor {
  std::optional<TokenId> cls, sep;
  std::vector<TokenId> process(std::vector<TokenId> ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return ids;
    std::vector<TokenId> out;
    if (cls) out.push_back(*cls);
    out.insert(out.end(), ids.begin(), ids.end());
    if (sep) out.push_back(*sep);
    return out;
  }
};

struct SequencePostProcessor : PostProcessor {
  std::vector<std::unique_ptr<PostProcessor>> items;
  std::vector<TokenId> process(std::vector<TokenId> ids, bool add_special_tokens) const override {
    for (const auto& p : items) ids = p->process(std::move(ids), add_special_tokens);
    return ids;
  }
};

}  // namespace

std::unique_ptr<PostProcessor> make_template_post_processor(std::vector<TemplatePiece> single) {
  auto p = std::make_unique<TemplatePostProcessor>();
  p->single = std::move(single);
  return p;
}
std::unique_ptr<PostProcessor> make_passthrough_post_processor() {
  return std::make_unique<PassthroughPostProcessor>();
}
std::unique_ptr<PostProcessor> make_cls_sep_post_processor(std::optional<TokenId> cls, std::optional<TokenId> sep) {
  auto p = std::make_unique<ClsSepPostProcessor>();
  p->cls = cls;
  p->sep = sep;
  return p;
}
std::unique_ptr<PostProcessor> make_sequence_post_processor(std::vector<std::unique_ptr<PostProcessor>> items) {
  auto p = std::make_unique<SequencePostProcessor>();
  p->items = std::move(items);
  return p;
}

}  // namespace oc::tok
