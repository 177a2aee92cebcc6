// Lexer: the template source (after the whitespace preprocessing the reference applies:
// trailing newline, lstrip_blocks, trim_blocks, the transformers `generation` tag) into tokens
// that remember their offset in the original source, for line/column in errors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace oc::tmpl::detail {

enum class Tok : uint8_t {
  Text,
  Number,
  String,
  Ident,
  Equals,
  OpenParen,
  CloseParen,
  OpenStatement,
  CloseStatement,
  OpenExpression,
  CloseExpression,
  OpenSquare,
  CloseSquare,
  OpenCurly,
  CloseCurly,
  Comma,
  Dot,
  Colon,
  Pipe,
  Additive,
  Multiplicative,
  Exponent,
  Comparison,
  Unary,
  Comment,
};

// The reference's name for a token type (used in parser error messages).
const char* token_name(Tok t);

struct Token {
  Tok type;
  std::string value;
  uint32_t pos;  // byte offset in the original source
};

// Line and column (1-based, column in characters) of a byte offset.
void line_column(const std::string& source, size_t offset, int& line, int& column);

// Throws TemplateError with the line/column of the offending character.
std::vector<Token> tokenize(const std::string& source);

}  // namespace oc::tmpl::detail
