package dnsreroute_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/dnsreroute/dnsreroute"
)

func TestTemplateIsTheFile(t *testing.T) {
	want, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dnsreroute.Template(), want) {
		t.Fatal("Template() differs from template.yaml")
	}
}
