"""The stage kinds, one module each, in the order a model travels through them.

``deployment_group`` (build support, then the model build and model deploy pipelines, per group),
``build_support`` (build account), ``model_build`` and ``model_deploy`` (tooling account), ``endpoint``
(deploy accounts). Their shared building blocks live in ``blocks``.
"""
