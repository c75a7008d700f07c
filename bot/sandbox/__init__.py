"""The fakes that `make demo` and the tests drive: the Telegram Bot API and
the Zalo Bot API, each faithful to its documented wire format."""
