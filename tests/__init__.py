#: test fixtures promote runs trained for seconds: the runner's plumbing is under test, not the model's quality
PROMOTE_ANYWAY = ("--override", "a test fixture: it tests the plumbing, not the model")
