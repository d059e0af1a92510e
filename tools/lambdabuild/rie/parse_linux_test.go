//go:build linux

package rie

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name   string
		stat   string
		want   procStat
		wantOK bool
	}{
		{
			name:   "plain",
			stat:   "4242 (bootstrap) S 4200 4242 4200 0 -1 4194560 300 0 0 0 1 2 0 0 20 0 7 0 123456 1000000 500 18446744073709551615",
			want:   procStat{ppid: 4200, pgrp: 4242, start: 123456},
			wantOK: true,
		},
		{
			name:   "command with spaces and parentheses",
			stat:   "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
			want:   procStat{ppid: 1, pgrp: 7, start: 99},
			wantOK: true,
		},
		{name: "truncated", stat: "7 (a) R 1 7", wantOK: false},
		{name: "no command", stat: "7 a R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99", wantOK: false},
		{name: "bad number", stat: "7 (a) R x 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseStat(tt.stat)
			if ok != tt.wantOK {
				t.Fatalf("ok = %t, want %t", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(procStat{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	self, ok := readStat(os.Getpid())
	if !ok || self.ppid != os.Getppid() {
		t.Errorf("readStat(self) = %+v, %t; want ppid %d", self, ok, os.Getppid())
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add("4242 (bootstrap) S 4200 4242 4200 0 -1 4194560 300 0 0 0 1 2 0 0 20 0 7 0 123456 1000000 500 18446744073709551615")
	f.Add("7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0")
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, ok := parseStat(s)
		if !ok && st != (procStat{}) {
			t.Errorf("rejected %q but returned %+v", s, st)
		}
	})
}
