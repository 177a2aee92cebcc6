// `onnx-chat template MODEL --messages FILE.json [--tools FILE.json] [--no-generation-prompt]`:
// prints the prompt the model's chat template renders, exactly as the model would receive it.
#include <cstdio>
#include <iostream>

#include "api/template_json.h"
#include "commands.h"
#include "common/error.h"
#include "common/fs.h"
#include "template/chat_template.h"
#include "template/model_templates.h"

namespace oc::app {
namespace {

tmpl::Value read_json_file(const std::string& path, const char* what) {
  std::string text = read_file(path);
  try {
    return tmpl::value_from_json_text(text);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::InvalidRequest, std::string(what) + " file " + path + ": invalid JSON: " + e.what());
  }
}

int run_template(const Options& o) {
  if (o.model.empty()) throw Error(ErrorKind::InvalidRequest, "give the model folder (MODEL)");
  if (o.messages_file.empty()) throw Error(ErrorKind::InvalidRequest, "give the messages with --messages FILE.json");
  if (!fs::is_directory(o.model)) throw Error(ErrorKind::NotFound, "not a model folder: " + o.model);

  tmpl::Value input = read_json_file(o.messages_file, "messages");
  tmpl::Value messages = input, tools = nullptr, documents = nullptr;
  tmpl::Object kwargs;
  if (input.is_object()) {  // a chat request body: messages, tools, documents, chat_template_kwargs
    messages = input.get("messages");
    if (const tmpl::Value* t = input.find("tools")) tools = *t;
    if (const tmpl::Value* d = input.find("documents")) documents = *d;
    if (const tmpl::Value* k = input.find("chat_template_kwargs"); k && k->is_object()) kwargs = k->as_object();
  }
  if (!messages.is_array())
    throw Error(ErrorKind::InvalidRequest, "messages file: expected an array of messages (or {\"messages\": [...]})");
  if (!o.tools_file.empty()) tools = read_json_file(o.tools_file, "tools");

  tmpl::ModelTemplates model = tmpl::load_model_templates(o.model);
  const std::string* source = model.select(!tools.is_null());
  if (!source) throw Error(ErrorKind::ModelLoad, o.model + ": " + model.selection_error());
  try {
    tmpl::ChatTemplate chat(*source);
    std::string prompt =
        chat.render(tmpl::chat_context(model, messages, !o.no_generation_prompt, tools, documents, kwargs));
    std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  } catch (const tmpl::TemplateError& e) {
    std::string where =
        e.line() ? " (line " + std::to_string(e.line()) + ", column " + std::to_string(e.column()) + ")" : "";
    throw Error(ErrorKind::InvalidRequest, "chat template error" + where + ": " + e.what());
  }
  return 0;
}

RegisterCommand reg{{"template", "print the prompt a model's chat template renders for some messages",
                     [](CLI::App& cmd, Options& options) -> std::function<int()> {
                       cmd.add_option("MODEL", options.model, "model folder");
                       add_options(cmd, options, {"messages", "tools", "no-generation-prompt"});
                       return [&options] { return run_template(options); };
                     }}};

}  // namespace
}  // namespace oc::app
