#include "agent/sources/json_number_text.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

namespace ingestor {

namespace json = boost::json;

namespace {

// json::parser's own handler (boost/json/detail/handler.hpp), except for numbers: their text,
// given in parts when a number spans writes, is pushed as a string.
struct NumberTextHandler {
  static constexpr size_t max_object_size = json::object::max_size();
  static constexpr size_t max_array_size = json::array::max_size();
  static constexpr size_t max_key_size = json::string::max_size();
  static constexpr size_t max_string_size = json::string::max_size();

  json::value_stack st;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(size_t n, json::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, size_t, json::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_int64(int64_t, json::string_view s, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_uint64(uint64_t, json::string_view s, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_double(double, json::string_view s, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

}  // namespace

Result<json::value> parse_json_number_text(std::string_view text,
                                           const json::parse_options& options) {
  json::basic_parser<NumberTextHandler> p(options);
  p.handler().st.reset();
  json::error_code ec;
  const size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = json::error::extra_data;
  if (ec) return make_error(Errc::kInvalidArgument, ec.message());
  return p.handler().st.release();
}

}  // namespace ingestor
