"""The personal feed: a profile (topics, authors, stars), its ranking, the "for you" digest and delivery."""
