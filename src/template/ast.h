// The syntax tree of a template: one node type with a kind, as the interpreter switches on it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace oc::tmpl::detail {

enum class NodeKind : uint8_t {
  Program,
  Text,        // str
  StringLit,   // str
  IntLit,      // num
  FloatLit,    // num
  ArrayLit,    // list
  TupleLit,    // list
  ObjectLit,   // list: key, value, key, value...
  Identifier,  // str
  Member,      // a object, b property, flag computed
  Call,        // a callee, list args
  Binary,      // str operator, a, b
  Unary,       // str operator, a
  Filter,      // a operand, b filter (Identifier or Call)
  Test,        // a operand, str test name, flag negate
  Select,      // a lhs, b test ("x if cond" without else)
  Ternary,     // a condition, b if true, c if false
  Slice,       // a start, b stop, c step (each may be null)
  KwArg,       // str key, a value
  Spread,      // a
  KwSpread,    // a
  If,          // a test, body, alt
  For,         // a loop variable(s), b iterable, body, alt (else block)
  Break,
  Continue,
  Set,          // a target, b value (null for a block set), body
  Macro,        // str name, list parameters, body
  CallBlock,    // a the Call, list caller parameters, body
  FilterBlock,  // a filter (Identifier or Call), body
  Comment,
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Node {
  NodeKind kind;
  uint32_t pos = 0;  // byte offset in the source
  bool flag = false;
  bool uses_kwargs = false;   // macro / call block bodies that read `kwargs`
  bool uses_varargs = false;  // ... or `varargs`
  double num = 0;
  std::string str;
  NodePtr a, b, c;
  std::vector<NodePtr> list;
  std::vector<NodePtr> body, alt;

  Node(NodeKind k, uint32_t p) : kind(k), pos(p) {}
};

}  // namespace oc::tmpl::detail
