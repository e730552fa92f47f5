"""1C CommerceML 2 (channels.md §6): reading an exchange set, writing one, the exchange protocol."""
