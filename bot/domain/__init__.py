"""Channel-neutral domain: plain values in, plain values out."""
