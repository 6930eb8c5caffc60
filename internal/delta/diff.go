package delta

import (
	"slices"
	"strings"
)

// Diff returns ops that turn old into new: Apply(old, Diff(old, new)) gives a
// value Equal to new. Values that are Equal give no ops (nil).
//
// Objects are compared field by field, recursively: a field only in new gives
// ADD, a field only in old gives REMOVE, and a field present in both gives
// UPDATE when the values differ and are not both objects (objects recurse).
// Arrays are never diffed element by element: a changed array is replaced by
// one UPDATE. When old and new are not both objects, a difference gives one
// UPDATE "/" with the whole of new — also from nil to a value (a server may
// rewrite it to ADD "/" for a first write) and from a value to nil (this is a
// value of nil, not a deletion, which is REMOVE "/"). A change to the field
// "" of the root object, which no SODP path can address (see
// [ParsePointer]), also gives one UPDATE "/" with the whole of new.
//
// Paths are escaped with [EscapeSegment]; ops are sorted by path, so the
// result is deterministic. No op's path lies inside another's, so the ops may
// be applied in any order. Op values are shared with new, not copied.
func Diff(old, new any) []Op {
	om, ok1 := old.(map[string]any)
	nm, ok2 := new.(map[string]any)
	if !ok1 || !ok2 {
		if Equal(old, new) {
			return nil
		}
		return []Op{{Op: OpUpdate, Path: "/", Value: new}}
	}
	if rootBlankChanged(om, nm) {
		return []Op{{Op: OpUpdate, Path: "/", Value: new}}
	}
	var ops []Op
	diffMaps(&ops, "", om, nm)
	slices.SortFunc(ops, func(a, b Op) int { return strings.Compare(a.Path, b.Path) })
	return ops
}

// rootBlankChanged reports whether diffing the objects old and new would need
// an op at the path [""], which SODP cannot express.
func rootBlankChanged(old, new map[string]any) bool {
	ov, inOld := old[""]
	nv, inNew := new[""]
	if inOld != inNew {
		return true
	}
	if !inOld {
		return false
	}
	_, oMap := ov.(map[string]any)
	_, nMap := nv.(map[string]any)
	return !(oMap && nMap) && !Equal(ov, nv)
}

// diffMaps appends the ops turning the object old into new, both at the
// escaped pointer prefix.
func diffMaps(ops *[]Op, prefix string, old, new map[string]any) {
	common := 0
	for k, ov := range old {
		nv, ok := new[k]
		if !ok {
			*ops = append(*ops, Op{Op: OpRemove, Path: prefix + "/" + EscapeSegment(k)})
			continue
		}
		common++
		om, ok1 := ov.(map[string]any)
		nm, ok2 := nv.(map[string]any)
		if ok1 && ok2 {
			diffMaps(ops, prefix+"/"+EscapeSegment(k), om, nm)
			continue
		}
		if !Equal(ov, nv) {
			*ops = append(*ops, Op{Op: OpUpdate, Path: prefix + "/" + EscapeSegment(k), Value: nv})
		}
	}
	if common == len(new) {
		return // new has no fields that old lacks
	}
	for k, nv := range new {
		if _, ok := old[k]; !ok {
			*ops = append(*ops, Op{Op: OpAdd, Path: prefix + "/" + EscapeSegment(k), Value: nv})
		}
	}
}
