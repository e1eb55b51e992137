"""Generator, discriminator and their frozen SD-Turbo parts.

:data:`DIRECTIONS` lives here, with no heavy import, so the command line can offer the choices
without loading the models.
"""

DIRECTIONS: tuple[str, str] = ("a2b", "b2a")  # a2b: photo → pixel art; b2a: pixel art → photo
