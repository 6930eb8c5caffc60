package wire

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
)

// FieldSpec is a field found by StructFields: the name a map key must
// have, whether a tag gave it, and its index path (through embedded
// structs).
type FieldSpec struct {
	Name   string
	Tagged bool
	Index  []int
}

// fieldName resolves the name of a struct field from its tags; skip
// reports a field tagged "-".
func fieldName(sf reflect.StructField) (name string, skip bool) {
	for _, key := range [...]string{"msgpack", "json"} {
		tag, ok := sf.Tag.Lookup(key)
		if !ok {
			continue
		}
		if tag == "-" {
			return "", true
		}
		if name, _, _ = strings.Cut(tag, ","); name != "" {
			return name, false
		}
	}
	return "", false
}

// StructFields lists the fields a map fills in a struct of type t (and
// the encoder writes), following the visibility rules of encoding/json for
// embedded structs; names come from msgpack, then json tags.
func StructFields(t reflect.Type) []FieldSpec {
	type level struct {
		typ   reflect.Type
		index []int
	}
	var current []level
	next := []level{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []FieldSpec
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := range l.typ.NumField() {
				sf := l.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						if !sf.IsExported() {
							// Its fields could not be allocated.
							continue
						}
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				name, skip := fieldName(sf)
				if skip {
					continue
				}
				index := append(slices.Clip(l.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					if !sf.IsExported() {
						// An unexported embedded struct with a tag
						// cannot be set as a whole.
						continue
					}
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					fields = append(fields, FieldSpec{Name: name, Tagged: tagged, Index: index})
					if count[l.typ] > 1 {
						// The type is embedded more than once at this
						// depth: a duplicate makes the field ambiguous.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, level{typ: ft, index: index})
				}
			}
		}
	}

	slices.SortFunc(fields, func(a, b FieldSpec) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.Index), len(b.Index)); c != 0 {
			return c
		}
		if a.Tagged != b.Tagged {
			if a.Tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.Index, b.Index)
	})
	// Of the fields sharing a name, keep the dominant one: the shallowest,
	// if it is alone at its depth or the only tagged one there.
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].Name == fields[i].Name {
			j++
		}
		group := fields[i:j]
		if len(group) == 1 || len(group[0].Index) < len(group[1].Index) || group[0].Tagged != group[1].Tagged {
			out = append(out, group[0])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b FieldSpec) int { return slices.Compare(a.Index, b.Index) })
	return out
}
