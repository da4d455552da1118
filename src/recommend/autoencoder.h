/*
 * autoencoder.h - a denoising autoencoder for implicit feedback on OpenBLAS.
 *
 * Network. Dense layers n_items -> hidden[0] -> ... -> hidden[h-1] -> n_items
 * with ReLU after every hidden layer, inverted dropout on hidden units while
 * training, and a linear output z (logits). The input row is a customer's
 * binary purchase vector x, L2-normalised and then thinned by input dropout
 * (the denoising of Mult-DAE: Liang, Krishnan, Hoffman, Jebara, "Variational
 * Autoencoders for Collaborative Filtering", WWW 2018). The first layer reads
 * the CSR row directly: h0 = b0 + sum over kept items i of v_i * W0[i,:], so
 * no dense customers x items matrix exists; every other layer is a
 * cblas_sgemm over a mini-batch.
 *
 * Losses, per customer row, averaged over the batch, plus (l2/2)*sum(W^2)
 * over the weights (not the biases):
 *   multinomial  -sum_i x_i log softmax(z)_i           (Mult-DAE; default)
 *   bce          sum_i softplus(z_i) - x_i z_i         (sigmoid + binary cross-entropy)
 *   mse          sum_i (z_i - x_i)^2                   (linear output; for comparison only)
 * Optimiser: Adam (Kingma & Ba, 2015) with beta1 0.9, beta2 0.999, eps 1e-8.
 * Weights start Glorot-uniform, biases at zero.
 *
 * Layout. All parameters live in one float array: for each layer l, its
 * weights W_l (dim[l] x dim[l+1], row-major) then its biases b_l. Gradients
 * and the two Adam moments use the same layout, so a snapshot of the best
 * epoch is one memcpy.
 *
 * Threads and determinism. A batch is cut into BB_AE_SHARDS fixed row
 * shards; threads take whole shards (and fixed column blocks of the output
 * layer), each calling sgemm single-threaded, so the caller must keep
 * OpenBLAS at one thread (openblas_set_num_threads(1)) while it trains or
 * scores. The sgemm calls and the order of every sum are fixed by the
 * shards, never by the thread count, and every random draw (initial weights,
 * shuffling, dropout masks) comes from bb_rng streams named by (seed, epoch,
 * batch, shard): results are bit-for-bit the same for any thread count
 * (tests/test_autoencoder.c checks 1 against 2 threads).
 *
 *     bb_ae_opts o;
 *     bb_ae_defaults(&o, n_items);
 *     bb_ae *ae;
 *     if (bb_ae_new(&o, &ae) != BB_OK) ...
 *     double loss;
 *     for (int epoch = 0; epoch < 20; epoch++)
 *         bb_ae_train_epoch(ae, &train, rows, n_rows, 0, epoch, &loss);
 *     bb_ae_scores(ae, &history, rows, n, scores);   // n x n_items logits
 *     bb_ae_free(ae);
 */
#ifndef BB_AUTOENCODER_H
#define BB_AUTOENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recommend/interactions.h"
#include "util/err.h"

#define BB_AE_MAX_HIDDEN 8
#define BB_AE_MAX_WIDTH 65536
/* Row shards of a batch: the unit of parallel work (so at most this many
 * threads help), fixed so that results do not depend on the thread count. */
#define BB_AE_SHARDS 4

typedef enum bb_ae_loss { BB_AE_MULTINOMIAL = 0, BB_AE_BCE, BB_AE_MSE } bb_ae_loss;

typedef struct bb_ae_opts {
    uint32_t n_items;
    int n_hidden;
    int hidden[BB_AE_MAX_HIDDEN];
    bb_ae_loss loss;
    float dropout;       /* share of hidden units dropped while training */
    float input_dropout; /* share of a row's items hidden from the input while training */
    float l2;
    float lr;
    int batch;           /* rows per Adam step */
    int threads;         /* threads over shards (at most BB_AE_SHARDS are busy) */
    uint64_t seed;
} bb_ae_opts;

typedef struct bb_ae bb_ae;

/* 128,64,32,64,128; multinomial; dropout 0.2, input dropout 0.5, l2 1e-3,
 * lr 1e-3, batch 256, 1 thread, seed 42. */
void bb_ae_defaults(bb_ae_opts *o, uint32_t n_items);
/* Parses "128,64,32,64,128" into o->hidden. false when malformed. */
int bb_ae_parse_hidden(const char *text, bb_ae_opts *o);
/* "multinomial", "bce", "mse" -> loss; -1 when unknown. */
int bb_ae_parse_loss(const char *text);
const char *bb_ae_loss_name(bb_ae_loss loss);

/* A new network with fresh weights. BB_ERR_CONFIG for bad options. */
bb_err bb_ae_new(const bb_ae_opts *o, bb_ae **out);
void bb_ae_free(bb_ae *ae);
const bb_ae_opts *bb_ae_options(const bb_ae *ae);

/* One epoch: rows are shuffled (stream `epoch`) and the first
 * min(n, max_rows) of them (max_rows 0: all) are visited in mini-batches,
 * each an Adam step. mean_loss: the data loss per row (no L2 term).
 * Rows without items are skipped. */
bb_err bb_ae_train_epoch(bb_ae *ae, const bb_csr *x, const uint32_t *rows, size_t n,
                         size_t max_rows, uint64_t epoch, double *mean_loss);

/* Logits for rows (no dropout): out is n x n_items, row-major. */
bb_err bb_ae_scores(bb_ae *ae, const bb_csr *x, const uint32_t *rows, size_t n, float *out);

/* The loss of one batch (data loss averaged over rows + L2 term) and its
 * gradient, with dropout masks drawn from stream `stream`: the same stream
 * gives the same masks, which is what a finite-difference check needs.
 * n <= the batch size. The gradient is left in the gradient array. */
bb_err bb_ae_batch_grad(bb_ae *ae, const bb_csr *x, const uint32_t *rows, size_t n,
                        uint64_t stream, double *loss);
/* The same loss without the gradient. */
bb_err bb_ae_batch_loss(bb_ae *ae, const bb_csr *x, const uint32_t *rows, size_t n,
                        uint64_t stream, double *loss);

/* The data loss of one row: logits z[0..n_items), the row's items (ascending,
 * s of them). With grad, z is replaced by dL/dz times scale (1/batch rows
 * in training); otherwise z may be overwritten too. */
double bb_ae_row_loss(bb_ae_loss loss, float *z, size_t n_items, const uint32_t *items, size_t s, bool grad,
                      float scale);

/* Layers and parameters, for tests, snapshots and the model file. */
int bb_ae_layers(const bb_ae *ae);
/* dim[0..layers]: dim[0] = dim[layers] = n_items. */
const int *bb_ae_dims(const bb_ae *ae);
/* All parameters (weights then biases, layer by layer) and their count. */
float *bb_ae_params(bb_ae *ae, size_t *count);
const float *bb_ae_grads(const bb_ae *ae);
/* Offsets of layer l's weights and biases in the parameter array. */
size_t bb_ae_weight_offset(const bb_ae *ae, int l);
size_t bb_ae_bias_offset(const bb_ae *ae, int l);

/* Floating-point operations of one training row with nnz input items
 * (forward and backward, multiply-add = 2), for GFLOP/s figures. */
double bb_ae_train_flops(const bb_ae *ae, double nnz);

#endif
