package sodp

import (
	"strings"
	"testing"
)

func TestShortPointer(t *testing.T) {
	if p := "/a/b/c"; shortPointer(p) != p {
		t.Errorf("a short pointer changed: %q", shortPointer(p))
	}
	long := strings.Repeat("/level", 600)
	got := shortPointer(long)
	if len(got) > maxShownPointer+20 || !strings.HasPrefix(got, "/level/level/") || !strings.HasSuffix(got, "/level/level") || !strings.Contains(got, "/…") {
		t.Errorf("shortPointer = %q", got)
	}
	one := "/" + strings.Repeat("x", 300)
	if got := shortPointer(one); got != one {
		t.Errorf("a single long segment: %q", got)
	}
	two := "/" + strings.Repeat("x", 300) + "/y"
	if got := shortPointer(two); got != "/…1 level…/y" {
		t.Errorf("long head segment: %q", got)
	}
}
