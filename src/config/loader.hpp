// loader.hpp: reads a libconfig file into config::Config, checking every rule
// of DESIGN.md §3. All problems are collected, each as "FILE:LINE: key.path: message".
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace ep::config {

struct Diagnostic {
    std::string file;
    int line = 0;
    std::string path;     // "services[0].servers[1].weight"; empty for syntax errors
    std::string message;  // "must be between 0 and 256 (got 300)"
    std::string str() const;  // "file:line: path: message" (or "file:line: message")
};

class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<Diagnostic> diags);
    const std::vector<Diagnostic>& diagnostics() const noexcept { return diags_; }

private:
    std::vector<Diagnostic> diags_;
};

// Throws ConfigError listing every problem found.
Config load_file(const std::string& path);
// Same rules on text; `name` stands for the file name in messages.
Config load_string(const std::string& text, const std::string& name);

}  // namespace ep::config
