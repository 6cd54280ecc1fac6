// protocol.cpp: parsing and printing of control-socket requests and answers
// (grammar in protocol.hpp). Pure string code: the master's socket handling and
// epctl's I/O live elsewhere.
#include "control/protocol.hpp"

#include <charconv>

namespace ep::control {

namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        const size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) words.push_back(line.substr(start, i - start));
    }
    return words;
}

bool is_option(std::string_view w) { return w.size() > 1 && w[0] == '-'; }

bool parse_verb(std::string_view w, Verb& out) {
    static constexpr Verb all[] = {Verb::Status, Verb::Drain, Verb::Maint, Verb::Ready,
                                   Verb::Weight, Verb::Reload, Verb::Stop};
    for (Verb v : all)
        if (w == verb_name(v)) {
            out = v;
            return true;
        }
    return false;
}

const char* usage_of(Verb v) {
    switch (v) {
        case Verb::Status: return "status";
        case Verb::Drain: return "drain SERVICE/SERVER";
        case Verb::Maint: return "maint SERVICE/SERVER [--kill]";
        case Verb::Ready: return "ready SERVICE/SERVER";
        case Verb::Weight: return "weight SERVICE/SERVER N";
        case Verb::Reload: return "reload";
        case Verb::Stop: return "stop [--graceful]";
    }
    return "";
}

bool parse_weight(std::string_view w, int& out, std::string& error) {
    const std::string range = "weight must be between 0 and " + std::to_string(kMaxWeight);
    std::string_view digits = w;
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
    const bool numeric = !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
    if (!numeric) {
        error = range + " (got " + quoted(w) + ")";
        return false;
    }
    long long value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || ptr != digits.data() + digits.size() || w[0] == '-' || value > kMaxWeight) {
        error = range + " (got " + std::string(w) + ")";
        return false;
    }
    out = int(value);
    return true;
}

void add_line(std::string& out, std::string_view line) {
    // A line break inside a line would smuggle in an early end of answer.
    std::string clean;
    for (char c : line)
        if (c != '\r' && c != '\n') clean += c;
    out += clean;
    out += '\n';
}

}  // namespace

const char* verb_name(Verb v) {
    switch (v) {
        case Verb::Status: return "status";
        case Verb::Drain: return "drain";
        case Verb::Maint: return "maint";
        case Verb::Ready: return "ready";
        case Verb::Weight: return "weight";
        case Verb::Reload: return "reload";
        case Verb::Stop: return "stop";
    }
    return "?";
}

bool parse_target(std::string_view word, Target& out, std::string& error) {
    const size_t slash = word.find('/');
    const bool ok = slash != std::string_view::npos && slash > 0 && slash + 1 < word.size() &&
                    word.find('/', slash + 1) == std::string_view::npos && word.substr(0, slash) != "*";
    if (!ok) {
        error = "expected SERVICE/SERVER, got " + quoted(word);
        return false;
    }
    out.service = std::string(word.substr(0, slash));
    out.server = std::string(word.substr(slash + 1));
    return true;
}

bool parse_command(std::string_view line, Command& out, std::string& error) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLineLength) {
        error = "line too long";
        return false;
    }
    for (unsigned char c : line)
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            error = "binary data";
            return false;
        }

    const auto words = split_words(line);
    if (words.empty()) {
        error = "empty command";
        return false;
    }
    Command cmd;
    if (!parse_verb(words[0], cmd.verb)) {
        error = "unknown command " + quoted(words[0]);
        return false;
    }
    const std::string verb = verb_name(cmd.verb);

    // Split the rest into options and positional arguments; options may come
    // anywhere after the verb, as epctl users type them.
    std::vector<std::string_view> args;
    for (size_t i = 1; i < words.size(); ++i) {
        const std::string_view w = words[i];
        if (!is_option(w) || (cmd.verb == Verb::Weight && args.size() == 1)) {
            args.push_back(w);  // "weight a/b -1" reaches the range check
        } else if (cmd.verb == Verb::Maint && w == "--kill") {
            cmd.kill = true;
        } else if (cmd.verb == Verb::Stop && w == "--graceful") {
            cmd.graceful = true;
        } else {
            error = "unknown option " + quoted(w) + " for " + verb;
            return false;
        }
    }

    size_t wanted = 0;
    switch (cmd.verb) {
        case Verb::Status:
        case Verb::Reload:
        case Verb::Stop: wanted = 0; break;
        case Verb::Drain:
        case Verb::Maint:
        case Verb::Ready: wanted = 1; break;
        case Verb::Weight: wanted = 2; break;
    }
    if (args.size() > wanted) {
        error = "unexpected argument " + quoted(args[wanted]) + " (usage: " + usage_of(cmd.verb) + ")";
        return false;
    }
    if (args.size() < wanted) {
        error = std::string("missing ") + (args.empty() ? "SERVICE/SERVER" : "N") + " (usage: " +
                usage_of(cmd.verb) + ")";
        return false;
    }
    if (wanted >= 1 && !parse_target(args[0], cmd.target, error)) return false;
    if (wanted == 2 && !parse_weight(args[1], cmd.weight, error)) return false;
    out = std::move(cmd);
    return true;
}

NextLine next_line(std::string_view buffered, bool input_ended) {
    NextLine next;
    const size_t nl = buffered.find('\n');
    std::string_view line = buffered.substr(0, nl);
    if (nl != std::string_view::npos && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Without a line break yet, one byte more than the limit may still be
    // the "\r" of a line that fits.
    const size_t limit = nl == std::string_view::npos ? kMaxLineLength + 1 : kMaxLineLength;
    if (line.size() > limit) {
        next.status = LineStatus::TooLong;
        return next;
    }
    if (nl != std::string_view::npos) {
        next.status = LineStatus::Complete;
        next.line = line;
        next.consumed = nl + 1;
    } else if (input_ended && !buffered.empty()) {
        next.status = LineStatus::Incomplete;
        next.line = buffered;
        next.consumed = buffered.size();
    }
    return next;
}

std::string incomplete_line_error(std::string_view fragment) {
    constexpr size_t kShown = 64;
    std::string shown;
    for (size_t i = 0; i < fragment.size() && i < kShown; ++i) {
        const unsigned char c = static_cast<unsigned char>(fragment[i]);
        shown += c >= 0x20 && c < 0x7f && c != '"' ? char(c) : '?';
    }
    if (fragment.size() > kShown) shown += "...";
    return "incomplete line, not run: \"" + shown + "\" has no line break";
}

std::string to_line(const Command& cmd) {
    std::string line = verb_name(cmd.verb);
    switch (cmd.verb) {
        case Verb::Drain:
        case Verb::Ready: line += " " + cmd.target.text(); break;
        case Verb::Maint:
            line += " " + cmd.target.text();
            if (cmd.kill) line += " --kill";
            break;
        case Verb::Weight: line += " " + cmd.target.text() + " " + std::to_string(cmd.weight); break;
        case Verb::Stop:
            if (cmd.graceful) line += " --graceful";
            break;
        case Verb::Status:
        case Verb::Reload: break;
    }
    return line;
}

std::string format_answer(const Answer& answer) {
    std::string out;
    std::string_view text = answer.text;
    std::string_view rest;
    if (const size_t nl = text.find('\n'); nl != std::string_view::npos) {
        rest = text.substr(nl + 1);
        text = text.substr(0, nl);
    }
    std::string first = answer.ok ? "OK" : "ERR";
    if (!text.empty()) first += " " + std::string(text);
    else if (!answer.ok) first += " error";
    add_line(out, first);
    // A detail of nothing but line breaks would be written as an empty line,
    // which ends the answer early: the client would read the rest as the next one.
    auto detail = [&](std::string_view d) {
        if (d.find_first_not_of("\r\n") != std::string_view::npos) add_line(out, d);
    };
    while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        detail(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    for (const auto& d : answer.details) detail(d);
    out += '\n';
    return out;
}

std::string ok_answer(std::string_view text, const std::vector<std::string>& details) {
    return format_answer({true, std::string(text), details});
}

std::string err_answer(std::string_view reason, const std::vector<std::string>& details) {
    return format_answer({false, std::string(reason), details});
}

bool answer_complete(std::string_view received) {
    return received.size() >= 2 && received.substr(received.size() - 2) == "\n\n";
}

bool parse_answer(std::string_view received, Answer& out) {
    std::vector<std::string_view> lines;
    while (!received.empty()) {
        const size_t nl = received.find('\n');
        std::string_view l = received.substr(0, nl);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        if (l.empty()) break;  // end of answer
        lines.push_back(l);
        if (nl == std::string_view::npos) break;
        received.remove_prefix(nl + 1);
    }
    if (lines.empty()) return false;
    const std::string_view first = lines[0];
    Answer a;
    if (first == "OK" || first.substr(0, 3) == "OK ") {
        a.ok = true;
        a.text = std::string(first.substr(first.size() > 2 ? 3 : 2));
    } else if (first == "ERR" || first.substr(0, 4) == "ERR ") {
        a.ok = false;
        a.text = std::string(first.substr(first.size() > 3 ? 4 : 3));
    } else {
        return false;
    }
    for (size_t i = 1; i < lines.size(); ++i) a.details.emplace_back(lines[i]);
    out = std::move(a);
    return true;
}

}  // namespace ep::control
