// Package selftest proves that the gates can fail (simrun selftest): it
// runs the real system and mutants, each breaking one promise (a naive
// handler, edited scripts, disabled guards, scheduler hooks), on short
// built-in scenarios, and every mutant must be caught.
package selftest
