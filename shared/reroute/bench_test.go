package reroute_test

import (
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

var sink string

func BenchmarkLookupHost(b *testing.B) {
	for _, bm := range []struct{ name, header, want string }{
		{"canonical", "www.example.com", "www.example.com"},
		{"mixed-case-port", "Mixed.Case.example.com:443", "mixed.case.example.com"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			if got := reroute.LookupHost(bm.header); got != bm.want {
				b.Fatalf("LookupHost(%q) = %q, want %q", bm.header, got, bm.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				sink = reroute.LookupHost(bm.header)
			}
		})
	}
}
