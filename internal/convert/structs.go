package convert

import (
	"math/bits"
	"reflect"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/sodp-go/client/internal/wire"
)

// structField is one settable field of a struct plan.
type structField struct {
	name   string
	offset uintptr // from the struct, or from the last embedded pointer
	hops   []embedHop
	dec    decodeFunc
}

// embedHop is an embedded pointer on the way to a promoted field.
type embedHop struct {
	offset uintptr
	elem   reflect.Type
}

type structPlan struct {
	t      reflect.Type
	fields []structField
	byName nameIndex      // exact name → index in fields
	byFold map[string]int // folded name → first field with it
}

func (b *planBuilder) structDecoder(t reflect.Type) decodeFunc {
	specs := wire.StructFields(t)
	if len(specs) == 0 && t.NumField() > 0 {
		return unsupportedDecoder(t, "the struct has no exported field to fill and no UnmarshalJSON or UnmarshalText method")
	}
	sp := &structPlan{
		t:      t,
		fields: make([]structField, len(specs)),
		byFold: make(map[string]int, len(specs)),
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		f := &sp.fields[i]
		f.name = s.Name
		names[i] = s.Name
		typ := t
		for j, x := range s.Index {
			sf := typ.Field(x)
			f.offset += sf.Offset
			typ = sf.Type
			if j == len(s.Index)-1 {
				break
			}
			if typ.Kind() == reflect.Pointer {
				typ = typ.Elem()
				f.hops = append(f.hops, embedHop{offset: f.offset, elem: typ})
				f.offset = 0
			}
		}
		f.dec = b.decoder(typ)
		if k := foldName(s.Name); !hasKey(sp.byFold, k) {
			sp.byFold[k] = i
		}
	}
	sp.byName = newNameIndex(names)
	return sp.decode
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

func (sp *structPlan) decode(p unsafe.Pointer, v any, depth int) *Error {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil
		}
		return mismatch(sp.t, v)
	}
	if depth >= maxConvertDepth {
		return tooDeep(sp.t, v)
	}
	var hits int
	if 2*len(m) < len(sp.fields) {
		// Few keys for many fields: walk the map, with one cheap name
		// lookup per key.
		for k, x := range m {
			i := sp.byName.lookup(k)
			if i < 0 {
				continue
			}
			hits++
			f := &sp.fields[i]
			if err := f.dec(f.ptr(p), x, depth+1); err != nil {
				return err.at(k)
			}
		}
	} else {
		// Looking each field up in the map costs less than iterating
		// over the map.
		for i := range sp.fields {
			f := &sp.fields[i]
			x, ok := m[f.name]
			if !ok {
				continue
			}
			hits++
			if err := f.dec(f.ptr(p), x, depth+1); err != nil {
				return err.at(f.name)
			}
		}
	}
	// Keys that matched no name exactly may still match a field that
	// has no exact key without regard to case.
	if hits == len(m) || hits == len(sp.fields) {
		return nil
	}
	return sp.decodeFolded(p, m, depth)
}

// nameIndex finds a field by its exact name. For most structs it is a
// perfect hash table over a few bytes of the name, much cheaper than a Go
// map; names that defeat it go into a map.
type nameIndex struct {
	slots    []nameSlot
	seed     uint64
	shift    uint
	fallback map[string]int
}

type nameSlot struct {
	name  string
	field int
}

// nameWord packs the length and five bytes of a non-empty name.
func nameWord(k string) uint64 {
	n := len(k)
	return uint64(n) | uint64(k[0])<<16 | uint64(k[n-1])<<24 | uint64(k[n/2])<<32 |
		uint64(k[n/3])<<40 | uint64(k[2*n/3])<<48
}

func newNameIndex(names []string) nameIndex {
	if len(names) == 0 {
		return nameIndex{}
	}
	seed := uint64(0x9e3779b97f4a7c15)
	for size := 4 * len(names); size <= 32*len(names); size *= 2 {
		b := uint(bits.Len(uint(size - 1)))
		for range 64 {
			// A splitmix64 step gives the next odd multiplier.
			seed += 0x9e3779b97f4a7c15
			z := (seed ^ seed>>30) * 0xbf58476d1ce4e5b9
			z = (z ^ z>>27) * 0x94d049bb133111eb
			x := nameIndex{slots: make([]nameSlot, 1<<b), seed: (z ^ z>>31) | 1, shift: 64 - b}
			ok := true
			for i, name := range names {
				s := &x.slots[x.slot(name)]
				if s.name != "" {
					ok = false
					break
				}
				*s = nameSlot{name: name, field: i}
			}
			if ok {
				return x
			}
		}
	}
	x := nameIndex{fallback: make(map[string]int, len(names))}
	for i, name := range names {
		x.fallback[name] = i
	}
	return x
}

func (x *nameIndex) slot(k string) uint64 { return nameWord(k) * x.seed >> x.shift }

// lookup returns the index of the field named k, or -1.
func (x *nameIndex) lookup(k string) int {
	if x.slots != nil {
		if k == "" {
			return -1
		}
		if s := &x.slots[x.slot(k)]; s.name == k {
			return s.field
		}
		return -1
	}
	if i, ok := x.fallback[k]; ok {
		return i
	}
	return -1
}

// decodeFolded sets the fields that have no exact key from keys that
// match their names without regard to case. Of several such keys, the
// smallest wins, so that the result does not depend on map order.
func (sp *structPlan) decodeFolded(p unsafe.Pointer, m map[string]any, depth int) *Error {
	var small [16]string
	var pick []string // the key chosen for each field, lazily made
	for k := range m {
		if sp.byName.lookup(k) >= 0 {
			continue
		}
		var buf [64]byte
		i, ok := sp.byFold[string(appendFold(buf[:0], k))]
		if !ok {
			continue
		}
		if _, exact := m[sp.fields[i].name]; exact {
			continue
		}
		if pick == nil {
			if len(sp.fields) <= len(small) {
				pick = small[:len(sp.fields)]
			} else {
				pick = make([]string, len(sp.fields))
			}
		}
		if pick[i] == "" || k < pick[i] {
			pick[i] = k
		}
	}
	for i, k := range pick {
		if k == "" {
			continue
		}
		f := &sp.fields[i]
		if err := f.dec(f.ptr(p), m[k], depth+1); err != nil {
			return err.at(k)
		}
	}
	return nil
}

// ptr returns the address of the field in the struct at p, allocating the
// embedded pointers on the way.
func (f *structField) ptr(p unsafe.Pointer) unsafe.Pointer {
	for _, h := range f.hops {
		q := (*unsafe.Pointer)(unsafe.Add(p, h.offset))
		if *q == nil {
			*q = reflect.New(h.elem).UnsafePointer()
		}
		p = *q
	}
	return unsafe.Add(p, f.offset)
}

// foldName returns the form of name that case-insensitive matching
// compares, as encoding/json does.
func foldName(name string) string {
	return string(appendFold(nil, name))
}

func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		dst = utf8.AppendRune(dst, unicode.ToUpper(unicode.ToLower(r)))
		i += n
	}
	return dst
}
