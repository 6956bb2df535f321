package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProgressLineOnlyOnATerminal(t *testing.T) {
	var out bytes.Buffer
	quiet := newProgress(&env{stderr: &out, tty: false})
	quiet.update("usage pass: %d", 1)
	quiet.done("usage pass: %d done", 1)
	assert.Empty(t, out.String(), "nothing when stderr is not a terminal")

	p := newProgress(&env{stderr: &out, tty: true})
	p.update("usage pass: %d", 1)
	p.done("usage pass: %d done", 2)
	assert.Equal(t, "\r\033[Kusage pass: 1\r\033[Kusage pass: 2 done\n", out.String())
}
