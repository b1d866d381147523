"""Size limits of the wire contract (Segment's, as defaults). The collector makes them configurable;
the SDK checks the same numbers at the call site so an event it accepts is never refused later."""

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_MESSAGES = 2500
MAX_MESSAGE_ID_LENGTH = 100
MAX_ID_LENGTH = 1024
