"""Providers call the model a bundle names. ``base`` holds the protocol and the value types;
``python`` and ``replay`` ship here; ``openai`` and ``anthropic`` are optional extras that
plug in through :data:`promptctl.evals.providers.factory.PROVIDER_MODULES`."""
