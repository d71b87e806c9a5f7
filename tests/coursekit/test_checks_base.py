"""An exception the notebook's code raised is recorded as the line that tells a student what to change."""

from __future__ import annotations

import pytest

from coursekit.checks.base import raised


def test_a_tensorflow_error_keeps_the_reason_and_the_op_without_the_kernel_name():
    tf = pytest.importorskip("tensorflow")
    try:
        tf.linalg.matmul(tf.zeros([3, 4, 5]), tf.zeros([3, 18, 5]))
    except Exception as error:  # noqa: BLE001 - whatever TensorFlow raises is what a student meets
        record = raised(error)
    assert record["message"].startswith("Matrix size-incompatible: In[0]: [3,4,5], In[1]: [3,18,5]")
    assert record["message"].endswith("[Op:BatchMatMulV2]")
    assert "function_node" not in record["message"]


def test_a_keras_layer_error_is_its_reason_not_the_wrapper_line():
    error = ValueError(
        "Exception encountered when calling LuongAttention.call().\n\n"
        "\x1b[1mscores must be (batch, max_len)\x1b[0m\n\n"
        "Arguments received by LuongAttention.call():\n  • query=tf.Tensor"
    )
    assert raised(error) == {"type": "ValueError", "message": "scores must be (batch, max_len)"}


def test_a_traced_function_error_is_its_last_line():
    error = TypeError('in user code:\n\n    File "<cell>", line 3, in call\n\n    unsupported operand type(s)')
    assert raised(error)["message"] == "unsupported operand type(s)"


def test_a_layer_error_inside_a_traced_model_is_the_layer_reason_with_its_op():
    error = ValueError(
        "in user code:\n\n"
        '    File "/tmp/ipykernel_2/1.py", line 20, in predict_step  *\n'
        "        logits, weights = model(tokens, training=False)\n\n"
        "    ValueError: Exception encountered when calling LuongAttention.call().\n    \n"
        "    Dimensions must be equal, but are 128 and 100 for '{{node model/luong/MatMul}} = "
        "BatchMatMulV2[T=DT_FLOAT, adj_x=false](model/gru/while:5, model/luong/dense/BiasAdd)' "
        "with input shapes: [10,128], [10,100,128].\n    \n"
        "    Arguments received by LuongAttention.call():\n"
        "      • query=tf.Tensor(shape=(10, 128), dtype=float32)\n"
        "      • mask=tf.Tensor(shape=(10, 100), dtype=bool)\n"
    )
    assert raised(error)["message"] == (
        "Dimensions must be equal, but are 128 and 100 in BatchMatMulV2 with input shapes: [10,128], [10,100,128]."
    )
