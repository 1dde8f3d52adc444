#pragma once
// Configuration files as they are really written (docs/configuration.md, "Files as they are
// written"). Java's Properties.load already reads most oddities as Flume does (properties.h):
// CRLF and CR line ends, `k v` with white space as the separator, `#` inside a value kept as part
// of it, the last of duplicate keys winning. This pass looks at the parsed lines again and says
// so, one warning per oddity, and decides the cases where Flume's reading is surely not what the
// author meant:
//  - a key set twice: warning naming both lines (the last value wins, as Flume);
//  - ` #` or ` //` inside a value (a trailing comment that Java keeps): warning, value kept;
//  - a `//` "comment" line (Java reads the key "//..."; Flume ignores it as another agent's):
//  warning,
//    ignored;
//  - a pasted shell command (`$ bin/flume-ng agent ...`, `flume-ng agent -n a1 ...`, `nohup ...`,
//    `export X=...`): warning, ignored (Flume ignores it as well);
//  - a non-breaking space (U+00A0, pasted from a web page) in a key or value: Flume keeps it as
//  part
//    of the name, so `r1<NBSP>` is not `r1` and the component silently disappears. Strict: an
//    error naming the line (the line is still read as below, so that no other error follows from
//    it). --lenient: read as a plain space (then trimmed), with a warning.
// Diagnostics have kind "file" and the component "<file>:<line>".

#include <vector>

#include "core/config/diagnostics.h"
#include "core/config/properties.h"

namespace ingestor {

// The properties to use, rebuilt from `lines` (in order, last value wins) with the rules above.
Properties apply_config_quirks(const std::vector<PropertyLine>& lines, bool lenient,
                               Diagnostics& diags);

}  // namespace ingestor
