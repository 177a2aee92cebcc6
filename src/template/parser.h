// Parser: tokens into a syntax tree, with the reference's grammar and precedence.
#pragma once

#include <string>
#include <vector>

#include "template/ast.h"
#include "template/lexer.h"

namespace oc::tmpl::detail {

// Throws TemplateError with the line/column of the offending token.
NodePtr parse(const std::vector<Token>& tokens, const std::string& source);

}  // namespace oc::tmpl::detail
