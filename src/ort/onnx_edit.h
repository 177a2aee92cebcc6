// Edits of an ONNX model's bytes made in memory before a session is created (the files on disk
// are never changed; external weight files stay where they are).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace oc::ort {

// Exports that feed GroupQueryAttention `seqlens_k` from the attention mask's width (every batch
// row as long as the longest) cannot run rows of different lengths in one batch: positions and
// cache writes would follow the widest row. This rewires every GroupQueryAttention node of the
// main graph to per-row lengths, ReduceSum(attention_mask, axis 1) - 1 as int32, which is what
// the operator defines; a batch of one all-ones mask gives the same value as before. Returns the
// edited model, or nullopt when the graph has no such node or no `attention_mask` input (nothing
// to do). Throws std::runtime_error on malformed bytes.
std::optional<std::string> gqa_lengths_from_mask(std::string_view model);

}  // namespace oc::ort
