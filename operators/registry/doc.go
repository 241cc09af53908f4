// Package registry is the one list of the operators pgchaos knows. Every
// command and suite that needs "the operator called X" asks here; an
// adapter is added by one line in All.
package registry
