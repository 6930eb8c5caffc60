package delta

import (
	"math"
	"strconv"
	"strings"
)

// ParsePointer splits a JSON Pointer (RFC 6901) into its decoded segments.
//
// Both "" and "/" address the whole value and give zero segments (a nil
// slice). Treating "/" as the whole value is SODP's reading; in RFC 6901 "/"
// names the field "" of the root object, which SODP paths therefore cannot
// address. Every other pointer must start with "/", and each "/" starts a
// segment: "/a/" gives ["a", ""] and "//x" gives ["", "x"]. Inside a segment
// "~1" decodes to "/" and "~0" to "~", in one left-to-right pass, so "~01"
// decodes to "~1". A "~" followed by anything else, or at the end of the
// pointer, is an error wrapping ErrBadPointer, as is a non-empty pointer not
// starting with "/" and one of more than MaxPathDepth segments.
func ParsePointer(p string) ([]string, error) {
	if p == "" || p == "/" {
		return nil, nil
	}
	if err := checkPointer(p); err != nil {
		return nil, err
	}
	segs := make([]string, 0, strings.Count(p, "/"))
	for p != "" {
		var seg string
		seg, p = nextSegment(p)
		segs = append(segs, seg)
	}
	return segs, nil
}

// FormatPointer joins segments into a JSON Pointer, escaping each with
// [EscapeSegment]. Zero segments give "/", the whole value. A single empty
// segment also gives "/", which SODP reads as the whole value: the field ""
// of the root object cannot be addressed (see [ParsePointer]). For every
// other list, ParsePointer(FormatPointer(s)) returns s.
func FormatPointer(segments []string) string {
	if len(segments) == 0 {
		return "/"
	}
	n := 0
	for _, s := range segments {
		n += 1 + len(s) + strings.Count(s, "~") + strings.Count(s, "/")
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range segments {
		b.WriteByte('/')
		writeEscaped(&b, s)
	}
	return b.String()
}

// EscapeSegment escapes one pointer segment: "~" becomes "~0" and "/"
// becomes "~1". A segment without either is returned unchanged; "" stays "".
func EscapeSegment(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + strings.Count(s, "~") + strings.Count(s, "/"))
	writeEscaped(&b, s)
	return b.String()
}

func writeEscaped(b *strings.Builder, s string) {
	for {
		i := strings.IndexAny(s, "~/")
		if i < 0 {
			b.WriteString(s)
			return
		}
		b.WriteString(s[:i])
		if s[i] == '~' {
			b.WriteString("~0")
		} else {
			b.WriteString("~1")
		}
		s = s[i+1:]
	}
}

// checkPointer validates a pointer other than "" and "/": it must start with
// "/" and every "~" must be followed by "0" or "1".
func checkPointer(p string) error {
	if p[0] != '/' {
		return errorf(ErrBadPointer, "%q does not start with \"/\"", shortPath(p))
	}
	if n := strings.Count(p, "/"); n > MaxPathDepth {
		return errorf(ErrBadPointer, "a path of %d segments, more than %d", n, MaxPathDepth)
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '~' {
			continue
		}
		if i+1 >= len(p) {
			return errorf(ErrBadPointer, "%q ends with \"~\"", shortPath(p))
		}
		if c := p[i+1]; c != '0' && c != '1' {
			return errorf(ErrBadPointer, "%q has \"~\" followed by %q at offset %d", shortPath(p), c, i)
		}
		i++
	}
	return nil
}

// nextSegment takes the first segment off a valid, non-empty pointer p (which
// starts with "/") and returns it decoded, with the remaining pointer ("" when
// it was the last segment).
func nextSegment(p string) (seg, rest string) {
	raw := p[1:]
	if i := strings.IndexByte(raw, '/'); i >= 0 {
		raw, rest = raw[:i], raw[i:]
	}
	return unescape(raw), rest
}

// unescape decodes ~1 and ~0 in a segment already known to be well formed.
func unescape(s string) string {
	i := strings.IndexByte(s, '~')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		if i+1 < len(s) && s[i+1] == '1' {
			b.WriteByte('/')
		} else {
			b.WriteByte('~')
		}
		s = s[i+2:]
		i = strings.IndexByte(s, '~')
	}
	b.WriteString(s)
	return b.String()
}

// arrayIndex interprets seg as an index into an array of length n. It returns
// n for "-", the value of a decimal index written without sign and leading
// zeros (math.MaxInt when it does not fit in an int), and ok=false for
// anything else. The result may be larger than n; callers check the range.
func arrayIndex(seg string, n int) (int, bool) {
	if seg == "-" {
		return n, true
	}
	if !isIndex(seg) {
		return 0, false
	}
	i, err := strconv.Atoi(seg)
	if err != nil {
		return math.MaxInt, true
	}
	return i, true
}

// isIndex reports whether seg is a decimal array index: digits only, and no
// leading zero unless it is "0".
func isIndex(seg string) bool {
	if seg == "" || (seg[0] == '0' && len(seg) > 1) {
		return false
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] < '0' || seg[i] > '9' {
			return false
		}
	}
	return true
}
