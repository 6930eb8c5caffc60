package delta

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func FuzzParsePointer(f *testing.F) {
	for _, s := range []string{"", "/", "/a", "/a/b", "/a/", "//", "/~0", "/~1", "/~01", "/~10", "/a~", "/a~2", "a", "~", "/-/0/10", "/ü~1日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		segs, err := ParsePointer(p)
		if err != nil {
			if !errors.Is(err, ErrBadPointer) || segs != nil {
				t.Fatalf("ParsePointer(%q) = %q, %v", p, segs, err)
			}
			return
		}
		q := FormatPointer(segs)
		if p != "" && q != p {
			t.Fatalf("FormatPointer(ParsePointer(%q)) = %q", p, q)
		}
		again, err := ParsePointer(q)
		if err != nil || !slices.Equal(again, segs) {
			t.Fatalf("ParsePointer(%q) = %q, %v; first parse gave %q", q, again, err, segs)
		}
		for _, s := range segs {
			if got := unescape(EscapeSegment(s)); got != s {
				t.Fatalf("unescape(EscapeSegment(%q)) = %q", s, got)
			}
		}
	})
}

// fuzzSource turns fuzz bytes into values and ops deterministically; once
// the bytes run out it yields zeros.
type fuzzSource struct {
	b []byte
}

func (s *fuzzSource) next() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *fuzzSource) key() string { return testKeys[int(s.next())%len(testKeys)] }

func (s *fuzzSource) value(depth int) any {
	switch c := s.next(); c % 12 {
	case 0:
		return nil
	case 1:
		return c&0x80 != 0
	case 2:
		return int64(int8(s.next()))
	case 3:
		return uint64(math.MaxInt64) + uint64(s.next())
	case 4:
		if c >= 0xF0 {
			return math.NaN()
		}
		return float64(int8(s.next())) / 4
	case 5, 6:
		return s.key()
	case 7, 8:
		if depth <= 0 {
			return nil
		}
		n := int(s.next() % 5)
		if c >= 0xE0 {
			n = tailMin - 3 + int(s.next()%6) // around the in-place append threshold
		}
		a := make([]any, n)
		for i := range a {
			a[i] = s.value(depth - 1)
		}
		return a
	case 9, 10:
		if depth <= 0 {
			return nil
		}
		n := int(s.next() % 5)
		m := make(map[string]any, n)
		for range n {
			m[s.key()] = s.value(depth - 1)
		}
		return m
	default:
		return s.key()
	}
}

func (s *fuzzSource) path() string {
	c := s.next()
	if c%16 == 0 {
		// A raw string, often malformed.
		const chars = "/~01a-"
		var b strings.Builder
		for range int(s.next() % 8) {
			b.WriteByte(chars[int(s.next())%len(chars)])
		}
		return b.String()
	}
	n := int(c % 5)
	if n == 0 {
		return "/"
	}
	var b strings.Builder
	for range n {
		b.WriteByte('/')
		b.WriteString(EscapeSegment(s.key()))
	}
	return b.String()
}

func (s *fuzzSource) ops() []Op {
	ops := make([]Op, int(s.next()%6))
	for i := range ops {
		c := s.next()
		var kind string
		switch c % 16 {
		case 0:
			kind = "add"
		case 1, 2, 3, 4, 5:
			kind = OpAdd
		case 6, 7, 8, 9, 10:
			kind = OpUpdate
		default:
			kind = OpRemove
		}
		ops[i] = Op{Op: kind, Path: s.path()}
		if kind != OpRemove || c&0x80 != 0 {
			ops[i].Value = s.value(2)
		}
	}
	return ops
}

// FuzzApply builds a value and ops from the fuzz input. Apply must not
// panic, must leave its input and the op values unchanged, and must agree
// with the simple model; applying again to the result or to the input must
// not change the first result.
func FuzzApply(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{9, 3, 0, 2, 1, 0, 2, 0, 5, 1, 1})
	f.Add([]byte{7, 4, 2, 1, 2, 2, 3, 1, 2, 1, 20, 2, 3, 2, 11, 0, 2, 9, 3})
	// An array of tailMin-1 nils (bytes 224, 0, 2: a large array of
	// tailMin-3+2 elements), then ADD "/-" 7, ADD "/-" 8, REMOVE "/-":
	// appends that cross the in-place threshold.
	bigArr := append([]byte{224, 0, 2}, make([]byte, tailMin-1)...)
	f.Add(append(bigArr, 3, 1, 1, 4, 2, 7, 1, 1, 4, 2, 8, 11, 1, 4))
	// The same array inside an object under "a", then ADD "/a/-" and
	// UPDATE "/a/0/b".
	f.Add(append(append([]byte{9, 1, 0}, bigArr...), 2, 1, 2, 0, 4, 2, 7, 6, 3, 0, 5, 1, 2, 9))
	f.Add([]byte{9, 4, 0, 9, 2, 5, 1, 7, 1, 2, 5, 3, 2, 1, 1, 2, 1, 0, 1, 3, 0x80, 1, 1, 0, 4})
	f.Add([]byte("the quick brown fox jumps over the lazy dog"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &fuzzSource{b: data}
		v := src.value(4)
		ops := src.ops()
		got, err := checkAgainstRef(t, v, ops)
		if err != nil {
			return
		}
		snapshot := deepCopy(got)
		checkAgainstRef(t, got, ops)
		checkAgainstRef(t, v, ops)
		checkAgainstRef(t, got, src.ops())
		if !sameValue(got, snapshot) {
			t.Fatalf("a later Apply changed an earlier result: %#v, was %#v", got, snapshot)
		}
		if res, _, err := Apply(v, Diff(v, got)); err != nil || !Equal(res, got) {
			t.Fatalf("Apply(v, Diff(v, got)) = %#v, %v; want %#v", res, err, got)
		}
	})
}
