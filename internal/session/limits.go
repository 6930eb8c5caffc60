package session

// What a DELTA may make the client build where its paths run through
// nothing (see delta.Owner.ApplyState's maxNew).

// newContainersFor is how many new objects and arrays a DELTA of size
// wire bytes may create where its paths run through nothing. A new object
// holds about 350 bytes, so the containers a large frame creates take at
// most about 16 times its size; a frame under 768 bytes may create
// minContainers, about 11 KB, whatever its size. A DELTA that needs more
// does not apply, and the key is re-synchronised.
func newContainersFor(size int) int { return max(minContainers, size/24) }

// minContainers is the number of new objects any DELTA may create: a path
// that runs 32 levels deep through nothing, deeper than documents
// ordinarily nest, applies however small its frame (8 levels take a
// 60-byte frame).
const minContainers = 32
