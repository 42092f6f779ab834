"""`codeagent demo`: the real loop on a bundled project, driven by a scripted model."""
