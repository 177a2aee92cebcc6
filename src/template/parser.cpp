#include "template/parser.h"

#include <cstdlib>
#include <set>

#include "template/chat_template.h"

namespace oc::tmpl::detail {
namespace {

constexpr int kMaxNesting = 256;

struct SpecialArgs {
  std::set<std::string> declared;
  bool kwargs = false, varargs = false;

  void declare(const std::string& name) {
    if (name == "kwargs" || name == "varargs") declared.insert(name);
  }
  void declare_target(const Node* t) {
    if (!t) return;
    if (t->kind == NodeKind::Identifier)
      declare(t->str);
    else if (t->kind == NodeKind::TupleLit)
      for (const auto& x : t->list) declare_target(x.get());
  }
  static const std::string& param_name(const Node* p) { return p->str; }
  void visit_list(const std::vector<NodePtr>& v) {
    for (const auto& n : v) visit(n.get());
  }
  void visit_filter(const Node* f) {
    if (f && f->kind == NodeKind::Call) visit_list(f->list);
  }
  void visit_defaults(const std::vector<NodePtr>& params) {
    for (const auto& p : params)
      if (p->kind == NodeKind::KwArg) visit(p->a.get());
  }
  void visit(const Node* n) {
    if (!n) return;
    switch (n->kind) {
      case NodeKind::For:
        declare_target(n->a.get());
        if (n->b && n->b->kind == NodeKind::Select) {
          visit(n->b->a.get());
          visit_list(n->body);
          visit_list(n->alt);
          visit(n->b->b.get());
          return;
        }
        visit(n->b.get());
        visit_list(n->body);
        visit_list(n->alt);
        return;
      case NodeKind::Set:
        declare_target(n->a.get());
        visit(n->b.get());
        visit_list(n->body);
        return;
      case NodeKind::Macro:
      case NodeKind::CallBlock:
        if (n->kind == NodeKind::CallBlock) visit(n->a.get());
        for (const auto& p : n->list) declare(param_name(p.get()));
        visit_defaults(n->list);
        visit_list(n->body);
        return;
      case NodeKind::FilterBlock:
        visit_list(n->body);
        visit_filter(n->a.get());
        return;
      case NodeKind::Identifier:
        if ((n->str == "kwargs" || n->str == "varargs") && !declared.count(n->str))
          (n->str == "kwargs" ? kwargs : varargs) = true;
        return;
      case NodeKind::Member:
        visit(n->a.get());
        if (n->flag) visit(n->b.get());
        return;
      case NodeKind::Filter:
        visit(n->a.get());
        visit_filter(n->b.get());
        return;
      case NodeKind::Test:
        visit(n->a.get());
        return;
      case NodeKind::Select:
        visit(n->b.get());
        visit(n->a.get());
        return;
      case NodeKind::KwArg:
        visit(n->a.get());
        return;
      default:
        visit(n->a.get());
        visit(n->b.get());
        visit(n->c.get());
        visit_list(n->list);
        visit_list(n->body);
        visit_list(n->alt);
    }
  }
};

void analyze_special_args(Node& n) {
  SpecialArgs s;
  for (const auto& p : n.list) s.declare(p->str);
  s.visit_list(n.body);
  n.uses_kwargs = s.kwargs;
  n.uses_varargs = s.varargs;
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& source) : t_(tokens), source_(source) {}

  NodePtr program() {
    auto prog = make(NodeKind::Program, 0);
    while (cur_ < t_.size()) prog->body.push_back(parse_any());
    return prog;
  }

 private:
  const std::vector<Token>& t_;
  const std::string& source_;
  size_t cur_ = 0;
  int depth_ = 0;

  struct Guard {
    Parser& p;
    explicit Guard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.fail("Template nesting is too deep");
    }
    ~Guard() { --p.depth_; }
  };

  [[noreturn]] void fail(const std::string& message) const { fail_at(message, cur_); }
  [[noreturn]] void fail_at(const std::string& message, size_t index) const {
    size_t offset = index < t_.size() ? t_[index].pos : source_.size();
    int line, column;
    line_column(source_, offset, line, column);
    throw TemplateError(message, line, column);
  }

  NodePtr make(NodeKind k, size_t index) const {
    uint32_t pos = index < t_.size() ? t_[index].pos : static_cast<uint32_t>(source_.size());
    return std::make_unique<Node>(k, pos);
  }

  const Token& peek() const {
    if (cur_ >= t_.size()) fail("Unexpected end of template");
    return t_[cur_];
  }
  const Token& next() {
    const Token& tok = peek();
    ++cur_;
    return tok;
  }
  bool is(Tok type, size_t ahead = 0) const { return cur_ + ahead < t_.size() && t_[cur_ + ahead].type == type; }
  bool is_ident(const char* name, size_t ahead = 0) const {
    return is(Tok::Ident, ahead) && t_[cur_ + ahead].value == name;
  }
  bool is_statement(std::initializer_list<const char*> names) const {
    if (!is(Tok::OpenStatement) || !is(Tok::Ident, 1)) return false;
    for (const char* n : names)
      if (t_[cur_ + 1].value == n) return true;
    return false;
  }
  const Token& expect(Tok type, const char* error) {
    if (cur_ >= t_.size()) fail(std::string("Parser Error: ") + error + ". Unexpected end of template.");
    const Token& tok = t_[cur_];
    if (tok.type != type)
      fail(std::string("Parser Error: ") + error + ". " + token_name(tok.type) + " !== " + token_name(type) + ".");
    ++cur_;
    return tok;
  }
  void expect_ident(const char* name) {
    if (!is_ident(name)) fail(std::string("Expected ") + name);
    ++cur_;
  }
  // Statements until one of the named {% ... %} tags; the end of the template is an error.
  void body_until(std::vector<NodePtr>& out, std::initializer_list<const char*> names, const char* what) {
    while (!is_statement(names)) {
      if (cur_ >= t_.size()) fail(std::string("Unexpected end of template: missing {% ") + what + " %}");
      out.push_back(parse_any());
    }
  }

  NodePtr parse_any() {
    Guard g(*this);
    const Token& tok = peek();
    switch (tok.type) {
      case Tok::Comment: {
        auto n = make(NodeKind::Comment, cur_);
        n->str = next().value;
        return n;
      }
      case Tok::Text: {
        auto n = make(NodeKind::Text, cur_);
        n->str = next().value;
        return n;
      }
      case Tok::OpenStatement:
        return parse_statement();
      case Tok::OpenExpression: {
        ++cur_;
        auto e = parse_expression();
        expect(Tok::CloseExpression, "Expected closing expression token");
        return e;
      }
      default:
        fail(std::string("Unexpected token type: ") + token_name(tok.type));
    }
  }

  NodePtr parse_statement() {
    size_t start = cur_;
    expect(Tok::OpenStatement, "Expected opening statement token");
    if (!is(Tok::Ident)) fail(std::string("Unknown statement, got ") + token_name(peek().type));
    std::string name = t_[cur_].value;
    NodePtr result;
    if (name == "set") {
      ++cur_;
      result = parse_set(start);
    } else if (name == "if") {
      ++cur_;
      result = parse_if(start);
      expect(Tok::OpenStatement, "Expected {% token");
      expect_ident("endif");
      expect(Tok::CloseStatement, "Expected %} token");
    } else if (name == "macro") {
      ++cur_;
      result = parse_macro(start);
      expect(Tok::OpenStatement, "Expected {% token");
      expect_ident("endmacro");
      expect(Tok::CloseStatement, "Expected %} token");
    } else if (name == "for") {
      ++cur_;
      result = parse_for(start);
      expect(Tok::OpenStatement, "Expected {% token");
      expect_ident("endfor");
      expect(Tok::CloseStatement, "Expected %} token");
    } else if (name == "call") {
      ++cur_;
      result = make(NodeKind::CallBlock, start);
      if (is(Tok::OpenParen)) {
        result->flag = true;
        result->list = parse_args(true);
      }
      size_t callee_at = cur_;
      auto callee = parse_primary();
      if (callee->kind != NodeKind::Identifier) fail_at("Expected identifier following call statement", callee_at);
      auto call = make(NodeKind::Call, callee_at);
      call->a = std::move(callee);
      call->list = parse_args(false);
      expect(Tok::CloseStatement, "Expected closing statement token");
      body_until(result->body, {"endcall"}, "endcall");
      expect(Tok::OpenStatement, "Expected '{%'");
      expect_ident("endcall");
      expect(Tok::CloseStatement, "Expected closing statement token");
      result->a = std::move(call);
      analyze_special_args(*result);
    } else if (name == "break" || name == "continue") {
      ++cur_;
      expect(Tok::CloseStatement, "Expected closing statement token");
      result = make(name == "break" ? NodeKind::Break : NodeKind::Continue, start);
    } else if (name == "filter") {
      ++cur_;
      result = make(NodeKind::FilterBlock, start);
      size_t f_at = cur_;
      auto filter = parse_primary();
      if (filter->kind == NodeKind::Identifier && is(Tok::OpenParen)) filter = parse_call(std::move(filter), f_at);
      expect(Tok::CloseStatement, "Expected closing statement token");
      body_until(result->body, {"endfilter"}, "endfilter");
      expect(Tok::OpenStatement, "Expected '{%'");
      expect_ident("endfilter");
      expect(Tok::CloseStatement, "Expected '%}'");
      result->a = std::move(filter);
    } else {
      fail("Unknown statement type: " + name);
    }
    return result;
  }

  NodePtr parse_set(size_t start) {
    auto n = make(NodeKind::Set, start);
    n->a = parse_expression_sequence(false);
    if (is(Tok::Equals)) {
      ++cur_;
      n->b = parse_expression_sequence(false);
    } else {
      expect(Tok::CloseStatement, "Expected %} token");
      body_until(n->body, {"endset"}, "endset");
      expect(Tok::OpenStatement, "Expected {% token");
      expect_ident("endset");
    }
    expect(Tok::CloseStatement, "Expected closing statement token");
    return n;
  }

  NodePtr parse_if(size_t start) {
    Guard g(*this);
    auto n = make(NodeKind::If, start);
    n->a = parse_expression();
    expect(Tok::CloseStatement, "Expected closing statement token");
    body_until(n->body, {"elif", "else", "endif"}, "endif");
    if (is_statement({"elif"})) {
      size_t at = cur_;
      cur_ += 2;
      n->alt.push_back(parse_if(at));
    } else if (is_statement({"else"})) {
      cur_ += 2;
      expect(Tok::CloseStatement, "Expected closing statement token");
      body_until(n->alt, {"endif"}, "endif");
    }
    return n;
  }

  NodePtr parse_macro(size_t start) {
    auto n = make(NodeKind::Macro, start);
    size_t name_at = cur_;
    auto name = parse_primary();
    if (name->kind != NodeKind::Identifier) fail_at("Expected identifier following macro statement", name_at);
    n->str = name->str;
    n->list = parse_args(true);
    expect(Tok::CloseStatement, "Expected closing statement token");
    body_until(n->body, {"endmacro"}, "endmacro");
    analyze_special_args(*n);
    return n;
  }

  NodePtr parse_expression_sequence(bool primary) {
    size_t start = cur_;
    std::vector<NodePtr> items;
    items.push_back(primary ? parse_primary() : parse_expression());
    bool tuple = is(Tok::Comma);
    while (tuple) {
      ++cur_;
      items.push_back(primary ? parse_primary() : parse_expression());
      if (!is(Tok::Comma)) break;
    }
    if (!tuple) return std::move(items[0]);
    auto t = make(NodeKind::TupleLit, start);
    t->list = std::move(items);
    return t;
  }

  NodePtr parse_for(size_t start) {
    auto n = make(NodeKind::For, start);
    size_t var_at = cur_;
    n->a = parse_expression_sequence(true);
    if (n->a->kind != NodeKind::Identifier && n->a->kind != NodeKind::TupleLit)
      fail_at("Expected identifier/tuple for the loop variable", var_at);
    if (!is_ident("in")) fail("Expected `in` keyword following loop variable");
    ++cur_;
    n->b = parse_expression();
    expect(Tok::CloseStatement, "Expected closing statement token");
    body_until(n->body, {"endfor", "else"}, "endfor");
    if (is_statement({"else"})) {
      cur_ += 2;
      expect(Tok::CloseStatement, "Expected closing statement token");
      body_until(n->alt, {"endfor"}, "endfor");
    }
    return n;
  }

  NodePtr parse_expression() {
    Guard g(*this);
    return parse_if_expression();
  }

  NodePtr parse_if_expression() {
    size_t start = cur_;
    auto a = parse_or();
    if (is_ident("if")) {
      ++cur_;
      auto test = parse_or();
      if (is_ident("else")) {
        ++cur_;
        auto n = make(NodeKind::Ternary, start);
        n->a = std::move(test);
        n->b = std::move(a);
        n->c = parse_if_expression();
        return n;
      }
      auto n = make(NodeKind::Select, start);
      n->a = std::move(a);
      n->b = std::move(test);
      return n;
    }
    return a;
  }

  NodePtr binary(std::string op, NodePtr l, NodePtr r, size_t at) {
    auto n = make(NodeKind::Binary, at);
    n->str = std::move(op);
    n->a = std::move(l);
    n->b = std::move(r);
    return n;
  }

  NodePtr parse_or() {
    auto left = parse_and();
    while (is_ident("or")) {
      size_t at = cur_++;
      left = binary("or", std::move(left), parse_and(), at);
    }
    return left;
  }
  NodePtr parse_and() {
    auto left = parse_not();
    while (is_ident("and")) {
      size_t at = cur_++;
      left = binary("and", std::move(left), parse_not(), at);
    }
    return left;
  }
  NodePtr parse_not() {
    if (is_ident("not")) {
      Guard g(*this);
      auto n = make(NodeKind::Unary, cur_);
      ++cur_;
      n->str = "not";
      n->a = parse_not();
      return n;
    }
    return parse_comparison();
  }
  NodePtr parse_comparison() {
    auto left = parse_additive();
    while (true) {
      size_t at = cur_;
      std::string op;
      if (is_ident("not") && is_ident("in", 1)) {
        op = "not in";
        cur_ += 2;
      } else if (is_ident("in")) {
        op = "in";
        ++cur_;
      } else if (is(Tok::Comparison)) {
        op = next().value;
      } else {
        break;
      }
      left = binary(op, std::move(left), parse_additive(), at);
    }
    return left;
  }
  NodePtr parse_additive() {
    auto left = parse_multiplicative();
    while (is(Tok::Additive)) {
      size_t at = cur_;
      std::string op = next().value;
      left = binary(op, std::move(left), parse_multiplicative(), at);
    }
    return left;
  }
  NodePtr parse_multiplicative() {
    auto left = parse_power();
    while (is(Tok::Multiplicative)) {
      size_t at = cur_;
      std::string op = next().value;
      left = binary(op, std::move(left), parse_power(), at);
    }
    return left;
  }
  NodePtr parse_power() {
    auto left = parse_test();
    while (is(Tok::Exponent)) {
      size_t at = cur_;
      std::string op = next().value;
      left = binary(op, std::move(left), parse_test(), at);
    }
    return left;
  }
  NodePtr parse_test() {
    auto operand = parse_filter();
    while (is_ident("is")) {
      size_t at = cur_++;
      bool negate = is_ident("not");
      if (negate) ++cur_;
      size_t name_at = cur_;
      auto test = parse_primary();
      if (test->kind != NodeKind::Identifier) fail_at("Expected identifier for the test", name_at);
      auto n = make(NodeKind::Test, at);
      n->a = std::move(operand);
      n->str = test->str;
      n->flag = negate;
      operand = std::move(n);
    }
    return operand;
  }
  NodePtr parse_filter() {
    auto operand = parse_unary_sign();
    while (is(Tok::Pipe)) {
      size_t at = cur_++;
      size_t name_at = cur_;
      auto filter = parse_primary();
      if (filter->kind != NodeKind::Identifier) fail_at("Expected identifier for the filter", name_at);
      if (is(Tok::OpenParen)) filter = parse_call(std::move(filter), name_at);
      auto n = make(NodeKind::Filter, at);
      n->a = std::move(operand);
      n->b = std::move(filter);
      operand = std::move(n);
    }
    return operand;
  }
  NodePtr parse_unary_sign() {
    if (cur_ < t_.size() && (t_[cur_].type == Tok::Unary || t_[cur_].type == Tok::Additive) &&
        (t_[cur_].value == "-" || t_[cur_].value == "+")) {
      Guard g(*this);
      auto n = make(NodeKind::Unary, cur_);
      n->str = next().value;
      n->a = parse_unary_sign();
      return n;
    }
    return parse_call_member();
  }
  NodePtr parse_call_member() {
    size_t start = cur_;
    auto member = parse_member(parse_primary(), start);
    if (is(Tok::OpenParen)) return parse_call(std::move(member), start);
    return member;
  }
  NodePtr parse_call(NodePtr callee, size_t start) {
    Guard g(*this);
    auto n = make(NodeKind::Call, start);
    n->a = std::move(callee);
    n->list = parse_args(false);
    NodePtr e = parse_member(std::move(n), start);
    if (is(Tok::OpenParen)) e = parse_call(std::move(e), start);
    return e;
  }

  std::vector<NodePtr> parse_args(bool parameters) {
    expect(Tok::OpenParen, "Expected opening parenthesis for arguments list");
    std::vector<NodePtr> args;
    std::set<std::string> names;
    bool saw_keyword = false, saw_spread = false;
    while (!is(Tok::CloseParen)) {
      if (cur_ >= t_.size()) fail("Unexpected end of template: missing )");
      bool kw_spread = is(Tok::Exponent);
      bool pos_spread = is(Tok::Multiplicative) && t_[cur_].value == "*";
      if (parameters && (kw_spread || pos_spread)) fail("Argument unpacking is not allowed in parameter declarations");
      size_t at = cur_;
      if (kw_spread) {
        ++cur_;
        auto n = make(NodeKind::KwSpread, at);
        n->a = parse_expression();
        args.push_back(std::move(n));
        if (is(Tok::Comma)) ++cur_;
        if (!is(Tok::CloseParen)) fail("Expected closing parenthesis: `**` must be applied to the final argument");
        break;
      }
      NodePtr arg;
      if (pos_spread) {
        if (saw_spread) fail("Only one `*` argument unpacking is allowed");
        saw_spread = true;
        ++cur_;
        arg = make(NodeKind::Spread, at);
        arg->a = parse_expression();
      } else {
        arg = parse_expression();
        if (is(Tok::Equals)) {
          ++cur_;
          if (arg->kind != NodeKind::Identifier)
            fail_at(parameters ? "Expected identifier for parameter declaration"
                               : "Expected identifier for keyword argument",
                    at);
          auto kw = make(NodeKind::KwArg, at);
          kw->str = arg->str;
          kw->a = parse_expression();
          arg = std::move(kw);
        }
        if (parameters) {
          if (arg->kind != NodeKind::Identifier && arg->kind != NodeKind::KwArg)
            fail_at("Expected identifier for parameter declaration", at);
          if (!names.insert(arg->str).second) fail_at("Duplicate parameter name: " + arg->str, at);
        }
        if (arg->kind == NodeKind::KwArg) {
          saw_keyword = true;
        } else if (saw_keyword) {
          fail_at(parameters ? "Non-default argument follows default argument"
                             : "Positional arguments must come before keyword arguments",
                  at);
        } else if (saw_spread) {
          fail_at("Positional arguments must not follow `*` argument unpacking", at);
        }
      }
      args.push_back(std::move(arg));
      if (is(Tok::Comma)) ++cur_;
    }
    expect(Tok::CloseParen, "Expected closing parenthesis for arguments list");
    return args;
  }

  NodePtr parse_member_arguments(size_t at) {
    std::vector<NodePtr> slices;
    std::vector<bool> present;
    bool is_slice = false;
    while (!is(Tok::CloseSquare)) {
      if (cur_ >= t_.size()) fail("Unexpected end of template: missing ]");
      if (is(Tok::Colon)) {
        slices.push_back(nullptr);
        ++cur_;
        is_slice = true;
      } else {
        slices.push_back(parse_expression());
        if (is(Tok::Colon)) {
          ++cur_;
          is_slice = true;
        }
      }
    }
    if (slices.empty()) fail_at("Expected at least one argument for member/slice expression", at);
    if (is_slice) {
      if (slices.size() > 3) fail_at("Expected 0-3 arguments for slice expression", at);
      auto n = make(NodeKind::Slice, at);
      n->a = std::move(slices[0]);
      if (slices.size() > 1) n->b = std::move(slices[1]);
      if (slices.size() > 2) n->c = std::move(slices[2]);
      return n;
    }
    return std::move(slices[0]);
  }

  NodePtr parse_member(NodePtr object, size_t start) {
    while (is(Tok::Dot) || is(Tok::OpenSquare)) {
      size_t at = cur_;
      bool computed = next().type == Tok::OpenSquare;
      NodePtr property;
      if (computed) {
        property = parse_member_arguments(at);
        expect(Tok::CloseSquare, "Expected closing square bracket");
      } else {
        size_t p_at = cur_;
        property = parse_primary();
        if (property->kind != NodeKind::Identifier && property->kind != NodeKind::IntLit)
          fail_at("Expected identifier or integer following dot operator", p_at);
      }
      auto n = make(NodeKind::Member, start);
      n->a = std::move(object);
      n->b = std::move(property);
      n->flag = computed;
      object = std::move(n);
    }
    return object;
  }

  NodePtr parse_primary() {
    Guard g(*this);
    size_t at = cur_;
    const Token& tok = next();
    switch (tok.type) {
      case Tok::Number: {
        bool is_float = tok.value.find('.') != std::string::npos;
        auto n = make(is_float ? NodeKind::FloatLit : NodeKind::IntLit, at);
        n->num = std::strtod(tok.value.c_str(), nullptr);
        return n;
      }
      case Tok::String: {
        auto n = make(NodeKind::StringLit, at);
        n->str = tok.value;
        while (is(Tok::String)) n->str += next().value;
        return n;
      }
      case Tok::Ident: {
        auto n = make(NodeKind::Identifier, at);
        n->str = tok.value;
        return n;
      }
      case Tok::OpenParen: {
        auto e = parse_expression_sequence(false);
        expect(Tok::CloseParen, "Expected closing parenthesis, got ${tokens[current].type} instead.");
        return e;
      }
      case Tok::OpenSquare: {
        auto n = make(NodeKind::ArrayLit, at);
        while (!is(Tok::CloseSquare)) {
          if (cur_ >= t_.size()) fail("Unexpected end of template: missing ]");
          n->list.push_back(parse_expression());
          if (is(Tok::Comma)) ++cur_;
        }
        ++cur_;
        return n;
      }
      case Tok::OpenCurly: {
        auto n = make(NodeKind::ObjectLit, at);
        while (!is(Tok::CloseCurly)) {
          if (cur_ >= t_.size()) fail("Unexpected end of template: missing }");
          n->list.push_back(parse_expression());
          expect(Tok::Colon, "Expected colon between key and value in object literal");
          n->list.push_back(parse_expression());
          if (is(Tok::Comma)) ++cur_;
        }
        ++cur_;
        return n;
      }
      default:
        fail_at(std::string("Unexpected token: ") + token_name(tok.type), at);
    }
  }
};

}  // namespace

NodePtr parse(const std::vector<Token>& tokens, const std::string& source) {
  Parser p(tokens, source);
  return p.program();
}

}  // namespace oc::tmpl::detail
