"""The smoke suite: tiny calculator repos with 1, 2, 4 and 8 bugs, each solved (or,
on purpose, not) by a ScriptedModel script. Runs offline in seconds."""
