package pmap

// Building a whole map at once.

// FromSlices returns the map of keys[i] to vals[i]. keys must not repeat
// and vals must be as long as keys. It costs O(n) with one allocation per
// node, each of its exact size, where n Set calls would grow the nodes
// entry by entry.
func FromSlices[V any](keys []string, vals []V) Map[V] {
	if len(keys) == 0 {
		return Map[V]{}
	}
	items := make([]item, len(keys))
	for i, k := range keys {
		items[i] = item{h: hashOf(k), i: int32(i)}
	}
	b := builder[V]{keys: keys, vals: vals, tmp: make([]item, len(items))}
	return Map[V]{root: b.node(items, 0), n: len(keys)}
}

// item is a key being placed: its hash and its index in the slices.
type item struct {
	h uint64
	i int32
}

type builder[V any] struct {
	keys []string
	vals []V
	tmp  []item // scratch of len(items), for the partition
}

func (b *builder[V]) entry(it item) entry[V] { return entry[V]{b.keys[it.i], b.vals[it.i]} }

// node makes the node at shift holding items (at least two, or the root).
func (b *builder[V]) node(items []item, shift uint) *node[V] {
	n := new(node[V])
	if shift >= maxShift {
		n.entries = make([]entry[V], len(items))
		for j, it := range items {
			n.entries[j] = b.entry(it)
		}
		return n
	}
	// Partition the items by their slot at this level (a counting sort
	// into tmp), then copy them back in slot order.
	var count [1 << bitsPerLevel]int32
	for _, it := range items {
		count[it.h>>shift&levelMask]++
	}
	var start [1 << bitsPerLevel]int32
	entries, kids := 0, 0
	var sum int32
	for s, c := range count {
		start[s] = sum
		sum += c
		switch {
		case c == 1:
			n.datamap |= 1 << s
			entries++
		case c > 1:
			n.nodemap |= 1 << s
			kids++
		}
	}
	tmp := b.tmp[:len(items)]
	next := start
	for _, it := range items {
		s := it.h >> shift & levelMask
		tmp[next[s]] = it
		next[s]++
	}
	copy(items, tmp)
	if entries > 0 {
		n.entries = make([]entry[V], 0, entries)
	}
	if kids > 0 {
		n.kids = make([]*node[V], 0, kids)
	}
	for s, c := range count {
		switch {
		case c == 1:
			n.entries = append(n.entries, b.entry(items[start[s]]))
		case c > 1:
			n.kids = append(n.kids, b.node(items[start[s]:start[s]+c], shift+bitsPerLevel))
		}
	}
	return n
}
