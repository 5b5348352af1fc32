"""An offline access proof: requests decided against the module's synthesized templates.

Test support, not part of the synth (``app.py`` never imports it): :mod:`access_proof.render` resolves
templates as deployed, :mod:`access_proof.world` indexes their policies, :mod:`access_proof.policy`
decides a request as AWS's documented evaluation logic does.
"""
