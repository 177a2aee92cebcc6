#include "hub/config.h"

#include <gtest/gtest.h>

#include <map>

namespace {
oc::hub::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST(HubConfig, Defaults) {
  auto c = oc::hub::config_from_env(env_of({{"HOME", "/home/u"}}));
  EXPECT_EQ(c.endpoint, "https://huggingface.co");
  EXPECT_EQ(c.hf_home, "/home/u/.cache/huggingface");
  EXPECT_EQ(c.cache_dir, "/home/u/.cache/huggingface/hub");
  EXPECT_FALSE(c.offline);
  EXPECT_EQ(c.token, "");
}

TEST(HubConfig, Overrides) {
  auto c = oc::hub::config_from_env(env_of({{"HOME", "/home/u"},
                                            {"HF_HOME", "~/hf"},
                                            {"HF_ENDPOINT", "http://127.0.0.1:9/"},
                                            {"HF_TOKEN", " hf_abc\n"},
                                            {"HF_HUB_OFFLINE", "yes"}}));
  EXPECT_EQ(c.hf_home, "/home/u/hf");
  EXPECT_EQ(c.cache_dir, "/home/u/hf/hub");
  EXPECT_EQ(c.endpoint, "http://127.0.0.1:9");
  EXPECT_EQ(c.token, "hf_abc");
  EXPECT_TRUE(c.offline);
  auto d = oc::hub::config_from_env(env_of({{"HF_HOME", "/x"}, {"HF_HUB_CACHE", "/y"}, {"XDG_CACHE_HOME", "/z"}}));
  EXPECT_EQ(d.cache_dir, "/y");
  auto e = oc::hub::config_from_env(env_of({{"XDG_CACHE_HOME", "/z"}, {"HF_HUB_OFFLINE", "0"}}));
  EXPECT_EQ(e.cache_dir, "/z/huggingface/hub");
  EXPECT_FALSE(e.offline);
}
