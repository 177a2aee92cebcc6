// onnx-chat tokenize MODEL_OR_TOKENIZER [--decode] [--json] [--no-special]
// Encodes each input line (or, with --json, a JSON list of strings) to ids, or decodes ids back to
// text: for scripting and for debugging prompts.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "commands.h"
#include "common/error.h"
#include "tokenizer/tokenizer.h"

namespace oc::app {
namespace {

std::unique_ptr<tok::Tokenizer> open_tokenizer(const std::string& where) {
  std::filesystem::path p(where);
  if (std::filesystem::is_directory(p)) return tok::Tokenizer::from_dir(p);
  if (!std::filesystem::exists(p)) throw Error(ErrorKind::NotFound, "no such model folder or tokenizer.json: " + where);
  auto config = p.parent_path() / "tokenizer_config.json";
  return tok::Tokenizer::from_files(p, std::filesystem::exists(config) ? config : std::filesystem::path{});
}

std::vector<tok::TokenId> parse_ids(const std::string& line) {
  std::vector<tok::TokenId> ids;
  std::string cleaned = line;
  for (char& c : cleaned)
    if (c == ',' || c == '[' || c == ']') c = ' ';
  std::istringstream in(cleaned);
  std::string word;
  while (in >> word) {
    try {
      size_t used = 0;
      long v = std::stol(word, &used);
      if (used != word.size()) throw std::invalid_argument(word);
      ids.push_back(static_cast<tok::TokenId>(v));
    } catch (const std::exception&) {
      throw Error(ErrorKind::InvalidRequest, "not a token id: " + word);
    }
  }
  return ids;
}

int run(const std::string& where, const Options& o) {
  auto tokenizer = open_tokenizer(where);
  const bool special = !o.no_special;
  if (o.json) {
    nlohmann::json input;
    try {
      input = nlohmann::json::parse(std::cin);
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::InvalidRequest, std::string("stdin is not JSON: ") + e.what());
    }
    if (!input.is_array()) input = nlohmann::json::array({input});
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : input) {
      if (o.decode) {
        if (!item.is_array()) throw Error(ErrorKind::InvalidRequest, "--decode --json expects a list of id lists");
        std::vector<tok::TokenId> ids;
        for (const auto& v : item) {
          if (!v.is_number_integer()) throw Error(ErrorKind::InvalidRequest, "not a token id: " + v.dump());
          ids.push_back(v.get<tok::TokenId>());
        }
        out.push_back(tokenizer->decode(ids, !special));
      } else {
        if (!item.is_string()) throw Error(ErrorKind::InvalidRequest, "--json expects a list of strings");
        out.push_back(tokenizer->encode(item.get<std::string>(), special));
      }
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    if (o.decode) {
      std::cout << tokenizer->decode(parse_ids(line), !special) << "\n";
    } else {
      auto ids = tokenizer->encode(line, special);
      for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
      std::cout << "\n";
    }
  }
  return 0;
}

const RegisterCommand reg{{"tokenize", "encode text to token ids (one line each, or a JSON list), or decode ids",
                           [](CLI::App& cmd, Options& options) -> std::function<int()> {
                             auto where = std::make_shared<std::string>();
                             cmd.add_option("MODEL_OR_TOKENIZER", *where, "model folder or tokenizer.json")->required();
                             add_options(cmd, options, {"json", "decode", "no-special", "log-level"});
                             return [where, &options] { return run(*where, options); };
                           }}};

}  // namespace
}  // namespace oc::app
