// Package browsertest holds the status page's end-to-end test in a real
// browser: Debian's Chromium, headless, driven over the Chrome DevTools
// Protocol on a pipe (--remote-debugging-pipe), so it needs neither npm
// nor a Go module beyond the standard library. The test serves the page
// the way galsync local does (the local Functions host's HTTP front →
// the custom handler → status.Reporter over the embedded store and
// queue), asserts on what a person sees and saves screenshots under
// test-artifacts/ at the repository root.
//
// Chromium is not on a fresh machine: scripts/install-chromium.sh
// installs it, and the test fails, naming that script, without it.
// GALSYNC_CHROMIUM names another binary; GALSYNC_TEST_ARTIFACTS another
// folder for the screenshots.
package browsertest
