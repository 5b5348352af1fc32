"""The SageMaker pipeline this repository's branch trains, and the command that runs it."""
