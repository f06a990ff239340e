"""The engine worker: batch evaluator, changelog state, Faust control agent, runtime, read model."""
