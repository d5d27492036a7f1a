import pytest

from comem.llm.scripted import ScriptedLLM
from tests.context.helpers import echo_memory


@pytest.fixture
def memory() -> ScriptedLLM:
    """A memory model whose summary lists exactly the steps it was shown."""
    return echo_memory()
