"""What several test suites share: zones, reports and fakes that tests in more than one folder use (the
app's tests reuse the core's). A test module never imports another test module for these."""
