/* The accelerator's C kernels for 2-D convolutions and max pooling, float32, NHWC inputs and HWIO kernels.
 *
 * Compiled on first use by accel_conv.py with the machine's C compiler (-O3 -march=native) and
 * loaded through ctypes; the NumPy code in ops/nn.py is the reference they are tested against.
 * Vectors are GCC/Clang vector extensions of 8 floats (one AVX register; two SSE or NEON ones
 * elsewhere), so the file needs no intrinsics and builds on any target those compilers know.
 *
 * - conv_direct / conv_direct_gradient: a convolution with few input channels (a first layer),
 *   where the patch matrix would be as wide as a few floats and its GEMM runs far below peak:
 *   the output is computed in place from the padded input, two output pixels and 32 channels
 *   held in registers, bias and relu fused; its kernel and bias gradients in one pass, relu's
 *   derivative fused.
 * - wino_kernel / wino_input / wino_output: Winograd's F(2x2, 3x3) for 3x3 kernels at stride 1
 *   (Lavin and Gray, 2015): 16 GEMMs of (tiles, C) @ (C, O) between the transforms replace the
 *   (pixels, 9 C) @ (9 C, O) product, 2.25 times fewer multiply-adds. The GEMMs stay BLAS's (two
 *   threads; a fused single-threaded kernel measured slower, benchmarks/RESULTS.md).
 * - wino_output_gradient / wino_kernel_gradient / wino_input_gradient: the adjoints of those
 *   transforms, for a backward that stays in the Winograd domain.
 * - max_pool_tiles / max_pool_tiles_gradient: max pooling over windows that tile the input (Keras's
 *   default), the layer after most convolutions, eight channels at a time.
 */
#include <string.h>

typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

#define INLINE static inline __attribute__((always_inline))

INLINE v8 load8(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
INLINE void store8(float *p, v8 v) { memcpy(p, &v, sizeof v); }
INLINE v8 splat8(float s) { v8 v = {s, s, s, s, s, s, s, s}; return v; }
/* max(a, 0) as NumPy's maximum: a NaN stays NaN (a <= 0 is false for it) */
INLINE v8 relu8(v8 a) { v8 zero = {0}; return (v8)((v8i)a & ~(a <= zero)); }
INLINE float relu1(float a) { return a <= 0 ? 0 : a; }

#define MAX_PATCH 256  /* patch entries (KH*KW*C) the direct kernels take */

/* Offsets of a patch's entries (kernel row, column, channel) from its first input, in floats. */
static long patch_offsets(long *off, long kh, long kw, long c, long wp, long dh, long dw)
{
    long k = 0;
    for (long p = 0; p < kh; p++)
        for (long q = 0; q < kw; q++)
            for (long ch = 0; ch < c; ch++)
                off[k++] = (p * dh * wp + q * dw) * c + ch;
    return k;
}

/* NV vectors of output channels for P (1 or 2) pixels: out = x-patch @ w (+ bias), relu'd. */
INLINE void direct_block(const float *x0, const float *x1, const float *w, const long *off, long k, long o,
                         const float *bias, float *o0, float *o1, int relu, const int NV, const int P)
{
    v8 a[4], c[4];
    for (int v = 0; v < NV; v++) {
        a[v] = bias ? load8(bias + 8 * v) : splat8(0);
        c[v] = a[v];
    }
    for (long e = 0; e < k; e++, w += o) {
        v8 s0 = splat8(x0[off[e]]);
        v8 s1 = P == 2 ? splat8(x1[off[e]]) : s0;
        for (int v = 0; v < NV; v++) {
            v8 wv = load8(w + 8 * v);
            a[v] += wv * s0;
            if (P == 2) c[v] += wv * s1;
        }
    }
    for (int v = 0; v < NV; v++) {
        store8(o0 + 8 * v, relu ? relu8(a[v]) : a[v]);
        if (P == 2) store8(o1 + 8 * v, relu ? relu8(c[v]) : c[v]);
    }
}

INLINE void direct_pixels(const float *x0, const float *x1, const float *w, const long *off, long k, long o,
                          const float *b, float *o0, float *o1, int relu, const int P)
{
    long ob = 0;
    for (; ob + 32 <= o; ob += 32)
        direct_block(x0, x1, w + ob, off, k, o, b ? b + ob : 0, o0 + ob, o1 + ob, relu, 4, P);
    for (; ob + 8 <= o; ob += 8)
        direct_block(x0, x1, w + ob, off, k, o, b ? b + ob : 0, o0 + ob, o1 + ob, relu, 1, P);
    for (; ob < o; ob++) {  /* channels past the last multiple of 8 */
        for (int p = 0; p < P; p++) {
            const float *xp = p ? x1 : x0;
            float s = b ? b[ob] : 0;
            for (long e = 0; e < k; e++)
                s += xp[off[e]] * w[e * o + ob];
            (p ? o1 : o0)[ob] = relu ? relu1(s) : s;
        }
    }
}

/* out (N, OH, OW, O) = the convolution of the padded input x (N, HP, WP, C) with w (KH, KW, C, O),
 * plus b (O, or NULL), relu'd when relu. Returns -1 when the patch is over MAX_PATCH entries. */
int conv_direct(const float *x, const float *w, const float *b, float *out, long n, long hp, long wp, long c,
                long kh, long kw, long o, long oh, long ow, long sh, long sw, long dh, long dw, int relu)
{
    long off[MAX_PATCH];
    if (kh * kw * c > MAX_PATCH) return -1;
    long k = patch_offsets(off, kh, kw, c, wp, dh, dw);
    for (long bi = 0; bi < n; bi++) {
        for (long i = 0; i < oh; i++) {
            const float *xrow = x + (bi * hp + i * sh) * wp * c;
            float *orow = out + (bi * oh + i) * ow * o;
            long j = 0;
            for (; j + 2 <= ow; j += 2)
                direct_pixels(xrow + j * sw * c, xrow + (j + 1) * sw * c, w, off, k, o, b, orow + j * o,
                              orow + (j + 1) * o, relu, 2);
            if (j < ow)
                direct_pixels(xrow + j * sw * c, 0, w, off, k, o, b, orow + j * o, 0, relu, 1);
        }
    }
    return 0;
}

#define CHUNK 128  /* output pixels whose gradients one pass of conv_direct_gradient keeps in cache */
#define BLOCK 12    /* patch entries whose kernel-gradient rows one pass holds in registers (of 16) */

/* The kernel gradient's rows e0..e0+NE of channels q..q+7 over one chunk of pixels: NE sums held in
 * registers across the chunk, then added to dwt. */
INLINE void gradient_block(const float *x, const long *base, const float *gm, long np_, long width,
                           const long *off, float *dwt, long o, const int NE)
{
    v8 acc[BLOCK];
    for (int e = 0; e < NE; e++) acc[e] = splat8(0);
    for (long p = 0; p < np_; p++) {
        v8 gv = load8(gm + p * width);
        const float *xp = x + base[p];
        for (int e = 0; e < NE; e++) acc[e] += splat8(xp[off[e]]) * gv;
    }
    for (int e = 0; e < NE; e++) store8(dwt + e * o, load8(dwt + e * o) + acc[e]);
}

/* dw (KH*KW*C, O) and db (O, or NULL) of conv_direct: the patches' products with the output
 * gradient g (N, OH, OW, O), times relu's derivative (out > 0) when out is not NULL. */
int conv_direct_gradient(const float *x, const float *g, const float *out, float *dwt, float *db, long n, long hp,
                         long wp, long c, long kh, long kw, long o, long oh, long ow, long sh, long sw, long dh,
                         long dw)
{
    long off[MAX_PATCH];
    float gm[CHUNK * 64];
    long base[CHUNK];
    if (kh * kw * c > MAX_PATCH) return -1;
    long k = patch_offsets(off, kh, kw, c, wp, dh, dw);
    memset(dwt, 0, sizeof(float) * k * o);
    if (db) memset(db, 0, sizeof(float) * o);
    long pixels = n * oh * ow;
    for (long ob0 = 0; ob0 < o; ob0 += 64) {  /* 64 channels a pass: the chunk's masked gradient fits gm */
        long width = o - ob0 < 64 ? o - ob0 : 64, vectors = width / 8 * 8;
        long bi = 0, i = 0, j = 0;  /* the pixel p0 + p, walked without divisions */
        for (long p0 = 0; p0 < pixels; p0 += CHUNK) {
            long np_ = pixels - p0 < CHUNK ? pixels - p0 : CHUNK;
            v8 share[8];  /* the chunk's bias gradient, summed apart and then added: pairs of sums */
            float rest[8] = {0};
            for (int v = 0; v < 8; v++) share[v] = splat8(0);
            for (long p = 0; p < np_; p++) {  /* the chunk's masked gradient and the pixels' patches */
                base[p] = ((bi * hp + i * sh) * wp + j * sw) * c;
                if (++j == ow) { j = 0; if (++i == oh) { i = 0; bi++; } }
                const float *gp = g + (p0 + p) * o + ob0, *op = out ? out + (p0 + p) * o + ob0 : 0;
                float *mp = gm + p * width;
                for (long q = 0; q < vectors; q += 8) {
                    v8 v = load8(gp + q);
                    if (op) { v8 zero = {0}; v = (v8)((v8i)v & (load8(op + q) > zero)); }
                    store8(mp + q, v);
                    share[q / 8] += v;
                }
                for (long q = vectors; q < width; q++) {
                    float v = op && !(op[q] > 0) ? 0 : gp[q];
                    mp[q] = v;
                    rest[q - vectors] += v;
                }
            }
            if (db) {
                for (long q = 0; q < vectors; q += 8) store8(db + ob0 + q, load8(db + ob0 + q) + share[q / 8]);
                for (long q = vectors; q < width; q++) db[ob0 + q] += rest[q - vectors];
            }
            for (long q = 0; q < vectors; q += 8)
                for (long e0 = 0; e0 < k; e0 += BLOCK) {
                    float *rows = dwt + e0 * o + ob0 + q;
                    const float *gq = gm + q;
                    switch (k - e0 < BLOCK ? k - e0 : BLOCK) {  /* each count its own unrolled loop */
#define BLOCK_CASE(count) case count: gradient_block(x, base, gq, np_, width, off + e0, rows, o, count); break;
                    BLOCK_CASE(1) BLOCK_CASE(2) BLOCK_CASE(3) BLOCK_CASE(4) BLOCK_CASE(5) BLOCK_CASE(6)
                    BLOCK_CASE(7) BLOCK_CASE(8) BLOCK_CASE(9) BLOCK_CASE(10) BLOCK_CASE(11) BLOCK_CASE(12)
#undef BLOCK_CASE
                    }
                }
            for (long q = vectors; q < width; q++)  /* channels past the last multiple of 8 */
                for (long e = 0; e < k; e++) {
                    float total = 0;
                    for (long p = 0; p < np_; p++) total += x[base[p] + off[e]] * gm[p * width + q];
                    dwt[e * o + ob0 + q] += total;
                }
        }
    }
    return 0;
}

/* U (16, C, O) = G w G^T for each (input, output) channel pair of w (3, 3, C, O), where
 * G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]. C O is a multiple of 8: eight pairs
 * at a time, since the planes lie C O floats apart and one pair's 25 values would share cache sets. */
void wino_kernel(const float *w, float *u, long c, long o)
{
    long plane = c * o;
    v8 half = splat8(0.5f);
    for (long e = 0; e < plane; e += 8) {
        v8 g[3][3], t[4][3];
        for (int r = 0; r < 3; r++)
            for (int s = 0; s < 3; s++) g[r][s] = load8(w + (r * 3 + s) * plane + e);
        for (int s = 0; s < 3; s++) {
            t[0][s] = g[0][s];
            t[1][s] = half * (g[0][s] + g[1][s] + g[2][s]);
            t[2][s] = half * (g[0][s] - g[1][s] + g[2][s]);
            t[3][s] = g[2][s];
        }
        for (int r = 0; r < 4; r++) {
            store8(u + (r * 4 + 0) * plane + e, t[r][0]);
            store8(u + (r * 4 + 1) * plane + e, half * (t[r][0] + t[r][1] + t[r][2]));
            store8(u + (r * 4 + 2) * plane + e, half * (t[r][0] - t[r][1] + t[r][2]));
            store8(u + (r * 4 + 3) * plane + e, t[r][2]);
        }
    }
}

/* V (T, 16, C) = B^T d B for each 4x4 input tile d of x (N, H, W, C), tiles 2 apart, th x tw of
 * them per image (T = N th tw), the input shifted by (top, left) and zero outside it, where
 * B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]. C is a multiple of 8. */
void wino_input(const float *x, float *v, long n, long h, long wd, long c, long th, long tw, long top, long left)
{
    long t = 0;
    for (long bi = 0; bi < n; bi++)
        for (long ti = 0; ti < th; ti++)
            for (long tj = 0; tj < tw; tj++, t++)
                for (long ch = 0; ch < c; ch += 8) {
                    v8 d[4][4], e[4][4];
                    for (int r = 0; r < 4; r++)
                        for (int s = 0; s < 4; s++) {
                            long i = 2 * ti + r - top, j = 2 * tj + s - left;
                            d[r][s] = i >= 0 && i < h && j >= 0 && j < wd ? load8(x + ((bi * h + i) * wd + j) * c + ch)
                                                                           : splat8(0);
                        }
                    for (int s = 0; s < 4; s++) {
                        e[0][s] = d[0][s] - d[2][s];
                        e[1][s] = d[1][s] + d[2][s];
                        e[2][s] = d[2][s] - d[1][s];
                        e[3][s] = d[1][s] - d[3][s];
                    }
                    float *vt = v + t * 16 * c + ch;
                    for (int r = 0; r < 4; r++) {
                        store8(vt + (r * 4 + 0) * c, e[r][0] - e[r][2]);
                        store8(vt + (r * 4 + 1) * c, e[r][1] + e[r][2]);
                        store8(vt + (r * 4 + 2) * c, e[r][2] - e[r][1]);
                        store8(vt + (r * 4 + 3) * c, e[r][1] - e[r][3]);
                    }
                }
}

/* out (N, OH, OW, O) = A^T m A (+ bias, relu'd when relu) for each tile's 4x4 products m in
 * M (16, T, O), cropped to the output, where A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]. O is a
 * multiple of 8. */
void wino_output(const float *m, const float *bias, float *out, long n, long oh, long ow, long o, long th, long tw,
                 int relu)
{
    long tiles = n * th * tw, t = 0;
    for (long bi = 0; bi < n; bi++)
        for (long ti = 0; ti < th; ti++)
            for (long tj = 0; tj < tw; tj++, t++)
                for (long ob = 0; ob < o; ob += 8) {
                    v8 a[2][4];
                    for (int s = 0; s < 4; s++) {
                        v8 m0 = load8(m + ((0 * 4 + s) * tiles + t) * o + ob);
                        v8 m1 = load8(m + ((1 * 4 + s) * tiles + t) * o + ob);
                        v8 m2 = load8(m + ((2 * 4 + s) * tiles + t) * o + ob);
                        v8 m3 = load8(m + ((3 * 4 + s) * tiles + t) * o + ob);
                        a[0][s] = m0 + m1 + m2;
                        a[1][s] = m1 - m2 - m3;
                    }
                    v8 b = bias ? load8(bias + ob) : splat8(0);
                    for (int r = 0; r < 2; r++) {
                        long i = 2 * ti + r, j = 2 * tj;
                        if (i >= oh) break;
                        v8 y0 = a[r][0] + a[r][1] + a[r][2] + b, y1 = a[r][1] - a[r][2] - a[r][3] + b;
                        float *row = out + ((bi * oh + i) * ow + j) * o + ob;
                        store8(row, relu ? relu8(y0) : y0);
                        if (j + 1 < ow) store8(row + o, relu ? relu8(y1) : y1);
                    }
                }
}

/* The backward of Winograd's F(2x2, 3x3), each function the adjoint of one forward transform. */

/* dM (16, T, O) = A dY A^T for each tile's 2x2 output gradient dY, taken from g (N, OH, OW, O)
 * times relu's derivative (out > 0) when out is not NULL, 0 past the output's edge: the adjoint of
 * wino_output. O is a multiple of 8. */
void wino_output_gradient(const float *g, const float *out, float *dm, long n, long oh, long ow, long o, long th,
                          long tw)
{
    long tiles = n * th * tw, t = 0;
    for (long bi = 0; bi < n; bi++)
        for (long ti = 0; ti < th; ti++)
            for (long tj = 0; tj < tw; tj++, t++)
                for (long ob = 0; ob < o; ob += 8) {
                    v8 y[2][2], e[4][2];
                    for (int r = 0; r < 2; r++)
                        for (int s = 0; s < 2; s++) {
                            long i = 2 * ti + r, j = 2 * tj + s, at = ((bi * oh + i) * ow + j) * o + ob;
                            y[r][s] = splat8(0);
                            if (i < oh && j < ow) {
                                v8 zero = {0};
                                y[r][s] = out ? (v8)((v8i)load8(g + at) & (load8(out + at) > zero)) : load8(g + at);
                            }
                        }
                    for (int s = 0; s < 2; s++) {
                        e[0][s] = y[0][s];
                        e[1][s] = y[0][s] + y[1][s];
                        e[2][s] = y[0][s] - y[1][s];
                        e[3][s] = -y[1][s];
                    }
                    for (int r = 0; r < 4; r++) {
                        store8(dm + ((r * 4 + 0) * tiles + t) * o + ob, e[r][0]);
                        store8(dm + ((r * 4 + 1) * tiles + t) * o + ob, e[r][0] + e[r][1]);
                        store8(dm + ((r * 4 + 2) * tiles + t) * o + ob, e[r][0] - e[r][1]);
                        store8(dm + ((r * 4 + 3) * tiles + t) * o + ob, -e[r][1]);
                    }
                }
}

/* dw (3, 3, O, C) = G^T dU G for each channel pair of dU (16, O, C): the adjoint of wino_kernel,
 * output channel first as the GEMM with the long sum over tiles gives dU fastest (the caller
 * transposes the small result). C O is a multiple of 8. */
void wino_kernel_gradient(const float *du, float *dw, long c, long o)
{
    long plane = c * o;
    v8 half = splat8(0.5f);
    for (long e = 0; e < plane; e += 8) {
        v8 d[4][4], t[3][4];
        for (int r = 0; r < 4; r++)
            for (int s = 0; s < 4; s++) d[r][s] = load8(du + (r * 4 + s) * plane + e);
        for (int s = 0; s < 4; s++) {
            t[0][s] = d[0][s] + half * (d[1][s] + d[2][s]);
            t[1][s] = half * (d[1][s] - d[2][s]);
            t[2][s] = half * (d[1][s] + d[2][s]) + d[3][s];
        }
        for (int r = 0; r < 3; r++) {
            store8(dw + (r * 3 + 0) * plane + e, t[r][0] + half * (t[r][1] + t[r][2]));
            store8(dw + (r * 3 + 1) * plane + e, half * (t[r][1] - t[r][2]));
            store8(dw + (r * 3 + 2) * plane + e, half * (t[r][1] + t[r][2]) + t[r][3]);
        }
    }
}

/* dx (N, H, W, C) = the sum over tiles of B dV B^T, each tile's 4x4 input gradient from dV (16, T, C),
 * added at the tile's place in x (tiles overlap by 2) and dropped outside it: the adjoint of
 * wino_input. C is a multiple of 8. */
void wino_input_gradient(const float *dv, float *dx, long n, long h, long wd, long c, long th, long tw, long top,
                         long left)
{
    long tiles = n * th * tw, t = 0;
    memset(dx, 0, sizeof(float) * n * h * wd * c);
    for (long bi = 0; bi < n; bi++)
        for (long ti = 0; ti < th; ti++)
            for (long tj = 0; tj < tw; tj++, t++)
                for (long ch = 0; ch < c; ch += 8) {
                    v8 d[4][4], f[4][4];
                    for (int r = 0; r < 4; r++)
                        for (int s = 0; s < 4; s++) d[r][s] = load8(dv + ((r * 4 + s) * tiles + t) * c + ch);
                    for (int s = 0; s < 4; s++) {
                        f[0][s] = d[0][s];
                        f[1][s] = d[1][s] - d[2][s] + d[3][s];
                        f[2][s] = d[1][s] + d[2][s] - d[0][s];
                        f[3][s] = -d[3][s];
                    }
                    for (int r = 0; r < 4; r++) {
                        long i = 2 * ti + r - top;
                        if (i < 0 || i >= h) continue;
                        v8 row[4] = {f[r][0], f[r][1] - f[r][2] + f[r][3], f[r][1] + f[r][2] - f[r][0], -f[r][3]};
                        for (int s = 0; s < 4; s++) {
                            long j = 2 * tj + s - left;
                            if (j < 0 || j >= wd) continue;
                            float *at = dx + ((bi * h + i) * wd + j) * c + ch;
                            store8(at, load8(at) + row[s]);
                        }
                    }
                }
}

/* Max pooling over windows that tile the input (strides equal to the pool, no padding: Keras's
 * default MaxPooling2D), eight channels at a time. */

/* The larger of a and b, lane by lane, NaN if either is (as NumPy's maximum). */
INLINE v8 max8(v8 a, v8 b)
{
    v8i keep_a = (a >= b) | (a != a);
    return (v8)(((v8i)a & keep_a) | ((v8i)b & ~keep_a));
}

INLINE float max1(float a, float b) { return a >= b || a != a ? a : b; }

/* out (N, OH, OW, C) = the maximum of each ph x pw window of x (N, H, W, C); rows and columns past
 * the last whole window are left out. */
void max_pool_tiles(const float *x, float *out, long n, long h, long wd, long c, long ph, long pw, long oh, long ow)
{
    for (long bi = 0; bi < n; bi++)
        for (long i = 0; i < oh; i++)
            for (long j = 0; j < ow; j++) {
                const float *corner = x + ((bi * h + i * ph) * wd + j * pw) * c;
                float *o = out + ((bi * oh + i) * ow + j) * c;
                long ch = 0;
                for (; ch + 8 <= c; ch += 8) {
                    v8 m = load8(corner + ch);
                    for (long a = 0; a < ph; a++)
                        for (long e = 0; e < pw; e++) m = max8(m, load8(corner + (a * wd + e) * c + ch));
                    store8(o + ch, m);
                }
                for (; ch < c; ch++) {
                    float m = corner[ch];
                    for (long a = 0; a < ph; a++)
                        for (long e = 0; e < pw; e++) m = max1(m, corner[(a * wd + e) * c + ch]);
                    o[ch] = m;
                }
            }
}

/* dx (N, H, W, C) of max_pool_tiles: each window's gradient g goes to its first maximum in
 * row-major window order (none to a NaN window), every other input gets 0; each input is written
 * once, with no zeroing pass. */
void max_pool_tiles_gradient(const float *x, const float *out, const float *g, float *dx, long n, long h, long wd,
                             long c, long ph, long pw, long oh, long ow)
{
    for (long bi = 0; bi < n; bi++) {
        for (long r = oh * ph; r < h; r++)  /* rows below the last window */
            memset(dx + (bi * h + r) * wd * c, 0, sizeof(float) * wd * c);
        for (long r = 0; r < oh * ph; r++)  /* columns right of the last window */
            memset(dx + ((bi * h + r) * wd + ow * pw) * c, 0, sizeof(float) * (wd - ow * pw) * c);
        for (long i = 0; i < oh; i++)
            for (long j = 0; j < ow; j++) {
                long at = ((bi * oh + i) * ow + j) * c, corner = ((bi * h + i * ph) * wd + j * pw) * c;
                long ch = 0;
                for (; ch + 8 <= c; ch += 8) {
                    v8 m = load8(out + at + ch), gv = load8(g + at + ch);
                    v8i untaken = {-1, -1, -1, -1, -1, -1, -1, -1};
                    for (long a = 0; a < ph; a++)
                        for (long e = 0; e < pw; e++) {
                            long k = corner + (a * wd + e) * c + ch;
                            v8i hit = (load8(x + k) == m) & untaken;
                            store8(dx + k, (v8)((v8i)gv & hit));
                            untaken &= ~hit;
                        }
                }
                for (; ch < c; ch++) {
                    int untaken = 1;
                    for (long a = 0; a < ph; a++)
                        for (long e = 0; e < pw; e++) {
                            long k = corner + (a * wd + e) * c + ch;
                            int hit = untaken && x[k] == out[at + ch];
                            dx[k] = hit ? g[at + ch] : 0;
                            untaken &= !hit;
                        }
                }
            }
    }
}
