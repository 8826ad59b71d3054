"""LCEL chains: question answering, comparison and weekly digests."""
